// Messages to parties (SMS). `Notifier` is the seam: a log notifier for development and an HTTP
// notifier that posts to the lender's SMS/e-mail gateway. Texts are bilingual and carry no more
// than the party needs: no name, and loan data only in the signing code's message, which must say
// what entering the code agrees to (the loan reference and amount).
import type { Logger } from '../logging.js';

export type MessageTemplate = 'invitation' | 'reminder_24h' | 'reminder_15m' | 'otp' | 'signing_code' | 'missed';

export interface PartyMessage {
  to: string;
  locale: 'zh-CN' | 'en';
  template: MessageTemplate;
  params: { link?: string; appointment?: string; code?: string; minutes?: string; loanReference?: string; amount?: string };
}

export interface Notifier {
  send(message: PartyMessage): Promise<void>;
}

const TEXTS: Record<MessageTemplate, Record<PartyMessage['locale'], (p: PartyMessage['params']) => string>> = {
  invitation: {
    'zh-CN': (p) => `【视频面签】您的贷款视频面签已预约在 ${p.appointment}。请届时打开链接（勿转发他人）：${p.link}`,
    en: (p) => `Your video signing appointment for your loan is at ${p.appointment}. Open this link then (do not share it): ${p.link}`,
  },
  reminder_24h: {
    'zh-CN': (p) => `【视频面签】提醒：您的视频面签将于 ${p.appointment} 开始。链接：${p.link}`,
    en: (p) => `Reminder: your video signing is at ${p.appointment}. Link: ${p.link}`,
  },
  reminder_15m: {
    'zh-CN': (p) => `【视频面签】您的视频面签将在15分钟后开始，请准备好身份证并打开链接：${p.link}`,
    en: (p) => `Your video signing starts in 15 minutes. Have your ID card ready and open: ${p.link}`,
  },
  // The code comes first in both: it is what the party looks for, and nothing before it can be taken for it.
  otp: {
    'zh-CN': (p) => `【视频面签】验证码 ${p.code}，用于登录本次视频面签，${p.minutes}分钟内有效。工作人员不会向您索取验证码。`,
    en: (p) => `${p.code} is your code to sign in to your video verification, valid for ${p.minutes} minutes. Our staff will never ask you for it.`,
  },
  signing_code: {
    'zh-CN': (p) => `【视频面签】签约验证码 ${p.code}，用于签署贷款合同（贷款编号 ${p.loanReference}，金额 ${p.amount}），${p.minutes}分钟内有效。输入即表示您同意签署该合同。请勿告诉任何人，包括工作人员。`,
    en: (p) => `${p.code} is your code to sign the loan contract for loan ${p.loanReference}, amount ${p.amount}, valid for ${p.minutes} minutes. Entering it means you agree to sign this contract. Never tell anyone, not even our staff.`,
  },
  missed: {
    'zh-CN': (p) => `【视频面签】我们未能与您完成视频面签，已为您重新安排在 ${p.appointment}：${p.link}`,
    en: (p) => `We could not complete your video signing; it is rescheduled for ${p.appointment}: ${p.link}`,
  },
};

export function renderMessage(message: PartyMessage): string {
  return TEXTS[message.template][message.locale](message.params);
}

/**
 * Development: writes the message to the log. Outside development the credentials in it — the
 * one-time code and the link's token — are masked: logs are read by more people than borrowers.
 */
export class LogNotifier implements Notifier {
  constructor(
    private readonly log: Logger,
    private readonly revealSecrets: boolean,
  ) {}

  async send(message: PartyMessage): Promise<void> {
    const p = message.params;
    const shown = this.revealSecrets
      ? message
      : { ...message, params: { ...p, code: p.code ? '******' : undefined, link: p.link ? p.link.replace(/\/join\/[^/?#]+/, '/join/[redacted]') : undefined } };
    this.log.info({ to: message.to, template: message.template, text: renderMessage(shown) }, 'message to party (log notifier)');
  }
}

/** Production: POSTs { to, channel, template, locale, text } to the gateway; a non-2xx answer throws. */
export class HttpNotifier implements Notifier {
  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(message: PartyMessage): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ to: message.to, channel: 'sms', template: message.template, locale: message.locale, text: renderMessage(message) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`notification gateway answered ${res.status}`);
  }
}

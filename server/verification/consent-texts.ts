// The consent texts a party agrees to on the join page. Each has a version; the stored consent
// records the version and the SHA-256 of the exact text shown, so an auditor can prove what was agreed.
import { createHash } from 'node:crypto';

export const CONSENT_TEXTS = {
  RECORDING: {
    version: '2026-11-v1',
    'zh-CN': '本次视频面签将全程录音录像，录像将作为贷款业务凭证依法保存，并仅用于核实您的身份与借款意愿、合规审查及争议处理。',
    en: 'This video signing is recorded in full (audio and video). The recording is kept as evidence of the loan as the law requires and is used only to verify your identity and intent to borrow, for compliance review and for resolving disputes.',
  },
  DATA_PROCESSING: {
    version: '2026-11-v1',
    'zh-CN': '为完成身份核验，我们将处理您的姓名、手机号、身份证号后四位、面部影像及粗略位置（城市级别）。您可以拒绝，但这将导致无法完成视频面签。',
    en: 'To verify your identity we process your name, mobile number, the last four characters of your ID number, images of your face and your approximate location (city level). You may refuse, but then the video signing cannot be completed.',
  },
} as const;

export function consentTextHash(kind: keyof typeof CONSENT_TEXTS, locale: 'zh-CN' | 'en'): string {
  return createHash('sha256').update(CONSENT_TEXTS[kind][locale]).digest('hex');
}

// The borrower's API (/api/join/:token/*) and what this tab remembers about the link: the party token
// from the one-time code (so a reload does not ask for another code) and the chosen language.
import { call, client, type Schemas } from '../shared/api';
import { isLocale, type Locale } from '../shared/i18n';

export type Overview = Schemas['PartyJoinOverview'];
export type CodeStatus = Overview['otp']['join'];
export type KeyTerms = NonNullable<Overview['terms']>;
/** The contract the party signs (GET /api/join/:token/contract). */
export type PartyContract = Schemas['PartyContract'];
export type Grant = Schemas['PartyJoinGrant'];

/** Session states after which there is nothing left to do on the page. */
export const FINISHED_STATES = new Set(['WRAP_UP', 'COMPLETED', 'ESCALATED']);
export const CLOSED_STATES = new Set(['CANCELLED', 'EXPIRED', 'EXHAUSTED']);

export class JoinApi {
  constructor(
    readonly link: string,
    private partyToken: string | undefined,
  ) {}

  private params() {
    return { path: { token: this.link } };
  }

  private headers(): Record<string, string> {
    return this.partyToken ? { 'X-Party-Token': this.partyToken } : {};
  }

  get token(): string | undefined {
    return this.partyToken;
  }

  overview(signal?: AbortSignal): Promise<Overview> {
    return call(client.GET('/api/join/{token}', { params: this.params(), headers: this.headers(), signal }));
  }

  sendCode(purpose: 'join' | 'sign'): Promise<void> {
    return call(client.POST('/api/join/{token}/otp', { params: this.params(), body: { purpose }, headers: this.headers() })).then(() => undefined);
  }

  async verifyCode(code: string): Promise<void> {
    const { partyToken } = await call(client.POST('/api/join/{token}/otp/verify', { params: this.params(), body: { code } }));
    this.partyToken = partyToken;
    remember(this.link, { partyToken });
  }

  consent(locale: Locale): Promise<void> {
    return call(client.POST('/api/join/{token}/consent', { params: this.params(), body: { recording: true, dataProcessing: true, locale }, headers: this.headers() })).then(() => undefined);
  }

  ready(): Promise<Grant> {
    return call(client.POST('/api/join/{token}/ready', { params: this.params(), headers: this.headers() }));
  }

  reschedule(notBefore: Date): Promise<{ appointmentAt: string }> {
    return call(client.POST('/api/join/{token}/reschedule', { params: this.params(), body: { notBefore: notBefore.toISOString() }, headers: this.headers() }));
  }

  sign(code: string): Promise<{ confirmedAt: string; documentHash: string }> {
    return call(client.POST('/api/join/{token}/sign', { params: this.params(), body: { code }, headers: this.headers() }));
  }

  contract(): Promise<PartyContract> {
    return call(client.GET('/api/join/{token}/contract', { params: this.params(), headers: this.headers() }));
  }

  /** Where the contract's PDF is read from, with authHeaders(). */
  contractUrl(): string {
    return `/api/join/${encodeURIComponent(this.link)}/contract/content`;
  }

  authHeaders(): Record<string, string> {
    return this.headers();
  }

  /** The party token no longer holds (another device verified since): ask for a code again. */
  forget(): void {
    this.partyToken = undefined;
    remember(this.link, { partyToken: undefined });
  }
}

interface Remembered {
  partyToken?: string | undefined;
  locale?: Locale | undefined;
}

const storageKey = (link: string) => `facesign.join.${link}`;

export function recall(link: string): Remembered {
  try {
    const raw = sessionStorage.getItem(storageKey(link));
    const parsed = raw ? (JSON.parse(raw) as Remembered) : {};
    return { partyToken: typeof parsed.partyToken === 'string' ? parsed.partyToken : undefined, locale: isLocale(parsed.locale) ? parsed.locale : undefined };
  } catch {
    return {};
  }
}

export function remember(link: string, change: Remembered): void {
  try {
    sessionStorage.setItem(storageKey(link), JSON.stringify({ ...recall(link), ...change }));
  } catch {
    // storage disabled: the page still works, a reload asks for a new code
  }
}

// The borrower's API (/api/join/:token/*) and what this tab remembers about the link: the party token
// from the one-time code (so a reload does not ask for another code) and the chosen language.
import { api } from '../shared/api';
import { isLocale, type Locale } from '../shared/i18n';
import type { TermsSnapshot, TermValues } from '../shared/key-terms';

export interface CodeStatus {
  pending: boolean;
  triesLeft: number;
  lockedUntil: string | null;
  resendAt: string | null;
}

export interface KeyTerms {
  loanReference: string;
  product: string;
  /** The product as the lender names it, when the LOS sent a name. */
  productName: Partial<Record<Locale, string>> | null;
  amount: string;
  currency: string;
  documentHash: string | null;
  signedAt: string | null;
  /** The terms the session's script states; the contract viewer highlights them on the pages. */
  loanTerms: TermsSnapshot;
  values: TermValues;
}

/** The contract the party signs (GET /api/join/:token/contract). */
export interface PartyContract {
  documentHash: string | null;
  /** The lender supplied the document itself, not only its fingerprint. */
  documentStored: boolean;
  sizeBytes: number | null;
  presentedPage: number | null;
  signedAt: string | null;
}

type ConsentText = Record<Locale, string> & { version: string };

export interface Overview {
  sessionId: string;
  kind: 'CALL' | 'VIDEO';
  state: string;
  appointmentAt: string;
  deadline: string;
  locale: string;
  partyName: string;
  authenticated: boolean;
  consented: boolean;
  waitingRoomOpensAt: string;
  /** In the waiting room: 1 = next, 0 = an agent has taken it; null outside. */
  position: number | null;
  canReschedule: boolean;
  contractToSign: boolean;
  otp: { join: CodeStatus; sign: CodeStatus };
  terms: KeyTerms | null;
  consentTexts: { RECORDING: ConsentText; DATA_PROCESSING: ConsentText };
}

export interface Grant {
  state: string;
  room: string;
  livekitUrl: string;
  token: string;
  position: number;
}

/** Session states after which there is nothing left to do on the page. */
export const FINISHED_STATES = new Set(['WRAP_UP', 'COMPLETED', 'ESCALATED']);
export const CLOSED_STATES = new Set(['CANCELLED', 'EXPIRED', 'EXHAUSTED']);

export class JoinApi {
  constructor(
    readonly link: string,
    private partyToken: string | undefined,
  ) {}

  private path(suffix = ''): string {
    return `/api/join/${encodeURIComponent(this.link)}${suffix}`;
  }

  private headers(): Record<string, string> {
    return this.partyToken ? { 'X-Party-Token': this.partyToken } : {};
  }

  get token(): string | undefined {
    return this.partyToken;
  }

  overview(signal?: AbortSignal): Promise<Overview> {
    return api<Overview>('GET', this.path(), undefined, { headers: this.headers(), signal });
  }

  sendCode(purpose: 'join' | 'sign'): Promise<void> {
    return api<void>('POST', this.path('/otp'), { purpose }, { headers: this.headers() });
  }

  async verifyCode(code: string): Promise<void> {
    const { partyToken } = await api<{ partyToken: string }>('POST', this.path('/otp/verify'), { code });
    this.partyToken = partyToken;
    remember(this.link, { partyToken });
  }

  consent(locale: Locale): Promise<void> {
    return api<void>('POST', this.path('/consent'), { recording: true, dataProcessing: true, locale }, { headers: this.headers() });
  }

  ready(): Promise<Grant> {
    return api<Grant>('POST', this.path('/ready'), undefined, { headers: this.headers() });
  }

  reschedule(notBefore: Date): Promise<{ appointmentAt: string }> {
    return api<{ appointmentAt: string }>('POST', this.path('/reschedule'), { notBefore: notBefore.toISOString() }, { headers: this.headers() });
  }

  sign(code: string): Promise<{ confirmedAt: string; documentHash: string }> {
    return api<{ confirmedAt: string; documentHash: string }>('POST', this.path('/sign'), { code }, { headers: this.headers() });
  }

  contract(): Promise<PartyContract> {
    return api<PartyContract>('GET', this.path('/contract'), undefined, { headers: this.headers() });
  }

  /** Where the contract's PDF is read from, with authHeaders(). */
  contractUrl(): string {
    return this.path('/contract/content');
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

// Automated confirmation calls: a session whose checklist template opts in is dialled with no agent
// (the same dial job, calling hours, pacing, retries and recording as an agent's call). Once the phone
// answers, the worker that takes the `automated-call` job joins the call's room as a participant,
// speaks each item with the loan's terms filled in and reads the keypad: 1 confirms, 2 denies, 9
// repeats. Every answer is stored like an agent's, with its offset into the recording. The first
// DENIED, UNCLEAR, silence or hang-up ends the automated part: the session goes back into the queue,
// flagged as handed off, and the next free agent calls the party back (docs/automated-calls.md).
import type { Db } from '../db/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../http/errors.js';
import type { JobQueues } from '../jobs/queues.js';
import { sipPartyIdentity } from '../livekit/identities.js';
import type { VideoPlatform } from '../livekit/video-platform.js';
import { AUTOMATED_CALL_ACTOR, type ChecklistService } from '../checklists/checklist.service.js';
import { templateDocumentOf } from '../checklists/templates.js';
import { parseTermsSnapshot, promptValues, type PromptLocale } from '../loan-files/loan-terms.js';
import type { SessionEngine } from '../verification/session-engine.js';
import { botIdentity, type CallRoom, type CallRoomConnector } from './call-room.js';
import { buildScript, keypadAnswer, PHRASES, scriptLocale, unfilledPlaceholders, type HandOffReason, type ScriptStep } from './script.js';
import type { Pcm, SpeechSynthesizer } from './speech.js';
import type { SpeechRecognizer } from './speech-recognition.js';
import type { AutomatedNote } from './notes.js';

export interface AutomatedCallSettings {
  /** How long the party has to press a key once a question has been spoken. */
  answerTimeoutMs: number;
  /** How often one question is spoken again (9, or a key that is not a choice) before it is UNCLEAR. */
  maxRepeats: number;
}

export type ScriptResult = { kind: 'completed' } | { kind: 'handed-off'; reason: HandOffReason } | { kind: 'skipped' };

interface CallContext {
  sessionId: string;
  attemptId: string;
  roomName: string;
  locale: PromptLocale;
  script: ScriptStep[];
}

/** Digits in arrival order; a question takes only digits pressed after it was spoken in full. */
class Keypad {
  private queue: { digit: string; at: Date }[] = [];
  private waiter: (() => void) | undefined;

  push(digit: string, at: Date): void {
    this.queue.push({ digit, at });
    this.waiter?.();
  }

  clear(): void {
    this.queue = [];
  }

  async next(timeoutMs: number, signal: AbortSignal): Promise<{ digit: string; at: Date } | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || signal.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.waiter = undefined;
          resolve();
        };
        const timer = setTimeout(done, left);
        signal.addEventListener('abort', done, { once: true });
        this.waiter = done;
      });
    }
    return this.queue.shift();
  }
}

export class AutomatedCalls {
  constructor(
    private readonly db: Db,
    private readonly engine: SessionEngine,
    private readonly checklists: ChecklistService,
    private readonly queues: JobQueues,
    private readonly media: { platform: VideoPlatform; connector: CallRoomConnector } | undefined,
    private readonly synthesizer: SpeechSynthesizer,
    private readonly recognizer: (() => SpeechRecognizer) | undefined,
    private readonly settings: AutomatedCallSettings,
    private readonly log: Logger,
  ) {}

  /** A call was answered: if it is an automated one, its script runs on a worker. */
  async answered(sessionId: string, attemptId: string): Promise<void> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, select: { mode: true, handedOffAt: true } });
    if (session?.mode !== 'AUTOMATED_CALL' || session.handedOffAt) return;
    await this.queues.enqueue('automated-call', { sessionId, attemptId }, { jobId: `automated-${attemptId}` });
  }

  /** The `automated-call` job: runs the script of one answered attempt, then completes or hands off. */
  async run(sessionId: string, attemptId: string): Promise<ScriptResult> {
    const loaded = await this.whenAnswered(sessionId, attemptId);
    if (loaded === 'hung-up') {
      // The party hung up before the script began (the session is already in wrap-up).
      const handed = await this.handOff(sessionId, 'HUNG_UP');
      this.log.info({ sessionId, attemptId, handed }, 'automated call: the party hung up before the script began');
      return handed ? { kind: 'handed-off', reason: 'HUNG_UP' } : { kind: 'skipped' };
    }
    if (!loaded) return { kind: 'skipped' };
    const ctx = loaded;
    const missing = unfilledPlaceholders(ctx.script);
    if (missing.length > 0 || !this.media) {
      this.log.error({ sessionId, missing, media: Boolean(this.media) }, 'automated call cannot run its script; handing it to a person');
      return this.finish(ctx, undefined, { kind: 'handed-off', reason: 'BOT_FAILED' });
    }
    let room: CallRoom | undefined;
    let result: ScriptResult;
    try {
      const token = await this.media.platform.agentToken({ room: ctx.roomName, identity: botIdentity(attemptId), displayName: 'automated-call', ttlSeconds: 3600 });
      room = await this.media.connector.join({ room: ctx.roomName, identity: botIdentity(attemptId), partyIdentity: sipPartyIdentity(attemptId), token });
      result = await this.converse(room, ctx);
    } catch (error) {
      this.log.error({ sessionId, attemptId, err: error }, 'automated call failed; handing it to a person');
      result = { kind: 'handed-off', reason: 'BOT_FAILED' };
    }
    return this.finish(ctx, room, result);
  }

  /** The job is queued just before the answer is applied: wait (briefly) for the session to be IN_PROGRESS. */
  private async whenAnswered(sessionId: string, attemptId: string, waitMs = 15_000): Promise<CallContext | 'hung-up' | undefined> {
    for (const until = Date.now() + waitMs; ; ) {
      const loaded = await this.load(sessionId, attemptId);
      if (loaded !== 'not-yet' || Date.now() > until) return loaded === 'not-yet' ? undefined : loaded;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async load(sessionId: string, attemptId: string): Promise<CallContext | 'not-yet' | 'hung-up' | undefined> {
    const session = await this.db.verificationSession.findUnique({
      where: { id: sessionId },
      include: { template: { select: { definition: true } }, party: { select: { phoneE164: true } }, attempts: { orderBy: { number: 'desc' }, take: 1 } },
    });
    const attempt = session?.attempts[0];
    if (!session || session.mode !== 'AUTOMATED_CALL' || session.handedOffAt || attempt?.id !== attemptId) return undefined;
    if (session.state === 'DISPATCHING' || session.state === 'RINGING') return 'not-yet';
    if (session.state === 'WRAP_UP') return 'hung-up';
    if (session.state !== 'IN_PROGRESS') return undefined;
    const locale = scriptLocale(session.language);
    const values = promptValues(parseTermsSnapshot(session.loanTerms), { phoneE164: session.party.phoneE164 })[locale];
    return { sessionId, attemptId, roomName: attempt.roomName, locale, script: buildScript(templateDocumentOf(session.template), session.itemOrder, values, locale) };
  }

  private async converse(room: CallRoom, ctx: CallContext): Promise<ScriptResult> {
    const hungUp = new AbortController();
    room.onPartyLeft(() => hungUp.abort());
    if (!room.partyPresent()) hungUp.abort();
    const keypad = new Keypad();
    room.onDigit((digit, at) => keypad.push(digit, at));
    const recognizer = this.recognizer?.();
    if (recognizer) room.onPartyAudio?.((audio) => recognizer.push(audio));
    const spoken = new Map<string, Pcm>();
    const say = async (text: string) => {
      let pcm = spoken.get(text);
      if (!pcm) {
        pcm = await this.synthesizer.synthesize(text, ctx.locale);
        spoken.set(text, pcm);
      }
      await room.play(pcm, hungUp.signal);
    };
    const handOff = (reason: HandOffReason): ScriptResult => ({ kind: 'handed-off', reason: hungUp.signal.aborted ? 'HUNG_UP' : reason });
    const record = async (itemId: string, value: 'CONFIRMED' | 'DENIED' | 'UNCLEAR', note: AutomatedNote | undefined, at: Date) =>
      Boolean(await this.checklists.answerAutomated(ctx.sessionId, ctx.attemptId, itemId, { value, note, at }));

    for (const step of ctx.script) {
      if (hungUp.signal.aborted) return handOff('HUNG_UP');
      if (step.kind === 'say') {
        await say(step.text);
        continue;
      }
      for (let repeats = 0; ; ) {
        // Keys pressed while the question is still being spoken do not count: the party answers what they heard.
        await say(step.text);
        if (hungUp.signal.aborted) return handOff('HUNG_UP');
        keypad.clear();
        recognizer?.reset();
        const pressed = await keypad.next(this.settings.answerTimeoutMs, hungUp.signal);
        if (hungUp.signal.aborted) return handOff('HUNG_UP');
        if (!pressed) {
          const heard = recognizer?.heard();
          const seconds = Math.round(this.settings.answerTimeoutMs / 1000);
          const note: AutomatedNote = heard && heard.kind !== 'silence' ? { code: 'NO_KEY_SPOKE', params: { seconds, spokeSeconds: Math.round(heard.durationMs / 100) / 10 } } : { code: 'NO_KEY', params: { seconds } };
          return (await record(step.itemId, 'UNCLEAR', note, new Date())) ? handOff('NO_INPUT') : handOff('HUNG_UP');
        }
        const answer = keypadAnswer(pressed.digit);
        if (answer === 'CONFIRMED') {
          if (!(await record(step.itemId, 'CONFIRMED', undefined, pressed.at))) return handOff('HUNG_UP');
          break;
        }
        if (answer === 'DENIED') {
          return (await record(step.itemId, 'DENIED', { code: 'DENIED_KEY', params: {} }, pressed.at)) ? handOff('DENIED') : handOff('HUNG_UP');
        }
        if (repeats >= this.settings.maxRepeats) {
          const note: AutomatedNote = { code: 'REPEATS_USED', params: { times: repeats + 1, lastKey: pressed.digit } };
          return (await record(step.itemId, 'UNCLEAR', note, pressed.at)) ? handOff('UNCLEAR') : handOff('HUNG_UP');
        }
        repeats += 1;
        if (answer === undefined) await say(PHRASES[ctx.locale].invalidKey);
      }
    }
    return { kind: 'completed' };
  }

  /** Completes the session by the outcome rules, or hands it to a person; then leaves the room. */
  private async finish(ctx: CallContext, room: CallRoom | undefined, result: ScriptResult): Promise<ScriptResult> {
    let final = result;
    try {
      if (result.kind === 'completed') {
        const completed = await this.checklists.completeAutomated(ctx.sessionId);
        if (!completed) final = { kind: 'handed-off', reason: 'UNCLEAR' };
      }
      if (final.kind === 'handed-off') {
        if (room?.partyPresent() && final.reason !== 'HUNG_UP') {
          try {
            await room.play(await this.synthesizer.synthesize(PHRASES[ctx.locale].handOff, ctx.locale));
          } catch (error) {
            this.log.warn({ sessionId: ctx.sessionId, err: error }, 'could not tell the party that a person will call back');
          }
        }
        await this.handOff(ctx.sessionId, final.reason);
      }
    } finally {
      if (room) {
        try {
          await room.leave();
        } catch (error) {
          this.log.warn({ sessionId: ctx.sessionId, err: error }, 'automated call could not leave its room cleanly');
        }
      }
    }
    this.log.info({ sessionId: ctx.sessionId, attemptId: ctx.attemptId, result: final }, 'automated call finished');
    return final;
  }

  /**
   * Hands the party to a person: the session goes back to SCHEDULED, marked handed off, and routing
   * offers it to the next free agent at once (calling hours permitting). false: it had moved on.
   */
  async handOff(sessionId: string, reason: HandOffReason): Promise<boolean> {
    try {
      await this.engine.apply(sessionId, { type: 'HANDED_TO_PERSON', reason }, {
        actor: AUTOMATED_CALL_ACTOR,
        inTx: async (sql, current) => {
          if (current.mode !== 'AUTOMATED_CALL' || current.handedOffAt) throw new AppError('SESSION_STATE_CONFLICT', 'Not an automated call awaiting hand-off');
          await sql.query({
            name: 'automated-call-hand-off',
            text: `UPDATE "VerificationSession" SET "handedOffAt" = now(), "handOffReason" = $2 WHERE "id" = $1::uuid AND "version" = $3::int`,
            values: [sessionId, reason, current.version],
          });
        },
      });
      return true;
    } catch (error) {
      if (error instanceof AppError && (error.code === 'SESSION_STATE_CONFLICT' || error.code === 'NOT_FOUND')) return false;
      throw error;
    }
  }

  /**
   * An automated call whose party hung up while no worker ran its script (the worker died) waits in
   * WRAP_UP with nobody to finish it: hand it to a person. Runs with the session sweep.
   */
  async sweep(now = new Date(), graceMs = 60_000): Promise<number> {
    const stranded = await this.db.verificationSession.findMany({
      where: { mode: 'AUTOMATED_CALL', handedOffAt: null, state: 'WRAP_UP', updatedAt: { lt: new Date(now.getTime() - graceMs) } },
      select: { id: true },
      take: 200,
    });
    let handed = 0;
    for (const { id } of stranded) if (await this.handOff(id, 'HUNG_UP')) handed += 1;
    return handed;
  }
}

// Automated confirmation calls: a session whose checklist template opts in is dialled with no agent
// (the same dial job, calling hours, pacing, retries and recording as an agent's call). Once the phone
// answers, the worker that takes the `automated-call` job joins the call's room as a participant,
// speaks each item with the loan's terms filled in and reads the keypad: 1 confirms, 2 denies, 9
// repeats. Every answer is stored like an agent's, with its offset into the recording. The first
// DENIED, UNCLEAR, silence or hang-up ends the automated part: the session goes back into the queue,
// flagged as handed off, and the next free agent calls the party back (docs/automated-calls.md).
import type { Db } from '../db/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../shared/errors.js';
import { markHandedOff } from '../verification/verification.repository.js';
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
  /**
   * How long the bot waits, in the room, for the call's recording to run (LiveKit reported the egress
   * active) before it says anything. No recording by then: it asks nothing and hands the party over.
   */
  recordingWaitMs: number;
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

/** One script job per answered attempt. */
export const automatedCallJobId = (attemptId: string): string => `automated-${attemptId}`;

export interface AutomatedCallsOptions {
  db: Db;
  engine: SessionEngine;
  checklists: ChecklistService;
  queues: JobQueues;
  media: { platform: VideoPlatform; connector: CallRoomConnector } | undefined;
  synthesizer: SpeechSynthesizer;
  recognizer: (() => SpeechRecognizer) | undefined;
  settings: AutomatedCallSettings;
  log: Logger;
}

/** How often a hand-off is tried when the session keeps changing under it (each try reads it afresh). */
const HAND_OFF_TRIES = 3;

export class AutomatedCalls {
  private readonly db: Db;
  private readonly engine: SessionEngine;
  private readonly checklists: ChecklistService;
  private readonly queues: JobQueues;
  private readonly media: { platform: VideoPlatform; connector: CallRoomConnector } | undefined;
  private readonly synthesizer: SpeechSynthesizer;
  private readonly recognizer: (() => SpeechRecognizer) | undefined;
  private readonly settings: AutomatedCallSettings;
  private readonly log: Logger;

  constructor(options: AutomatedCallsOptions) {
    this.db = options.db;
    this.engine = options.engine;
    this.checklists = options.checklists;
    this.queues = options.queues;
    this.media = options.media;
    this.synthesizer = options.synthesizer;
    this.recognizer = options.recognizer;
    this.settings = options.settings;
    this.log = options.log;
  }

  /** A call was answered: if it is an automated one, its script runs on a worker. */
  async answered(sessionId: string, attemptId: string): Promise<void> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, select: { mode: true, handedOffAt: true } });
    if (session?.mode !== 'AUTOMATED_CALL' || session.handedOffAt) return;
    await this.queues.enqueue('automated-call', { sessionId, attemptId }, { jobId: automatedCallJobId(attemptId) });
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
      const recording = await this.whenRecording(ctx, room);
      if (recording === 'recording') result = await this.converse(room, ctx);
      else {
        if (recording === 'not-recorded') this.log.error({ sessionId, attemptId }, 'automated call: the recording did not start; handing the party to a person without asking anything');
        result = { kind: 'handed-off', reason: recording === 'hung-up' ? 'HUNG_UP' : 'NOT_RECORDED' };
      }
    } catch (error) {
      this.log.error({ sessionId, attemptId, err: error }, 'automated call failed; handing it to a person');
      result = { kind: 'handed-off', reason: 'BOT_FAILED' };
    }
    return this.finish(ctx, room, result);
  }

  /**
   * The job is queued just before the answer is applied: wait for the session to be IN_PROGRESS. A
   * call still not answered after `waitMs` is left to the sweep, which hands it over if it is answered
   * later with no script running (see sweep()).
   */
  private async whenAnswered(sessionId: string, attemptId: string, waitMs = 60_000): Promise<CallContext | 'hung-up' | undefined> {
    for (const until = Date.now() + waitMs; ; ) {
      const loaded = await this.load(sessionId, attemptId);
      if (loaded !== 'not-yet') return loaded;
      if (Date.now() > until) {
        this.log.warn({ sessionId, attemptId, waitedMs: waitMs }, 'automated call: the answer was not applied in time; the sweep takes the call over');
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Waits in the room until the attempt's recording runs (LiveKit reported its egress active: from
   * then on the recording holds what is said). The prompts and the keys are the evidence, so the bot
   * never speaks into a call that is not being recorded.
   */
  private async whenRecording(ctx: CallContext, room: CallRoom): Promise<'recording' | 'not-recorded' | 'hung-up'> {
    for (const until = Date.now() + this.settings.recordingWaitMs; ; ) {
      if (!room.partyPresent()) return 'hung-up';
      const recording = await this.db.recording.findUnique({ where: { attemptId: ctx.attemptId }, select: { state: true } });
      if (recording?.state === 'ACTIVE') return 'recording';
      // Failed, or already past active (ended before a word was said): not a recording of this script.
      if (recording && recording.state !== 'REQUESTED') return 'not-recorded';
      if (Date.now() > until) return 'not-recorded';
      await new Promise((resolve) => setTimeout(resolve, 200));
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
   * offers it to the next free agent at once (calling hours permitting). false: it had moved on. A
   * hand-off that loses a race with another change of the session (the party's hang-up moving it to
   * wrap-up as the script ends) is tried again on the session as it now is, so the party is not left
   * for the sweep.
   */
  async handOff(sessionId: string, reason: HandOffReason): Promise<boolean> {
    for (let tries = 1; ; tries += 1) {
      try {
        await this.engine.apply(sessionId, { type: 'HANDED_TO_PERSON', reason }, {
          actor: AUTOMATED_CALL_ACTOR,
          inTx: async (sql, current) => {
            if (current.mode !== 'AUTOMATED_CALL' || current.handedOffAt) throw new AppError('NOT_FOUND', 'Not an automated call awaiting hand-off');
            await markHandedOff(sql, sessionId, current.version, reason, new Date());
          },
        });
        return true;
      } catch (error) {
        if (error instanceof AppError && error.code === 'SESSION_STATE_CONFLICT' && tries < HAND_OFF_TRIES) continue;
        if (error instanceof AppError && (error.code === 'SESSION_STATE_CONFLICT' || error.code === 'NOT_FOUND')) return false;
        throw error;
      }
    }
  }

  /**
   * Automated calls nobody is running a script for, handed to a person. Runs with the session sweep.
   * - In WRAP_UP: the party hung up while no worker ran the script (the worker died).
   * - In IN_PROGRESS with no `automated-call` job waiting or running: the answer was applied by the
   *   dial sweep after a crash, or the job was lost with Redis. The party is on the line hearing
   *   nothing; a person calls back (BOT_FAILED), and the hand-off ends the call.
   */
  async sweep(now = new Date(), graceMs = 60_000): Promise<number> {
    const before = new Date(now.getTime() - graceMs);
    const stranded = await this.db.verificationSession.findMany({
      where: { mode: 'AUTOMATED_CALL', handedOffAt: null, state: { in: ['WRAP_UP', 'IN_PROGRESS'] }, updatedAt: { lt: before } },
      select: { id: true, state: true, attempts: { orderBy: { number: 'desc' }, take: 1, select: { id: true } } },
      take: 200,
    });
    let handed = 0;
    for (const { id, state, attempts } of stranded) {
      if (state === 'WRAP_UP') {
        if (await this.handOff(id, 'HUNG_UP')) handed += 1;
        continue;
      }
      const attemptId = attempts[0]?.id;
      if (attemptId && (await this.queues.isPending('automated-call', automatedCallJobId(attemptId)))) continue;
      this.log.warn({ sessionId: id, attemptId }, 'automated call answered with no script running; handing it to a person');
      if (await this.handOff(id, 'BOT_FAILED')) handed += 1;
    }
    return handed;
  }
}

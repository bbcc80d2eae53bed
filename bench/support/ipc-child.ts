// A bench helper process spoken to over IPC: spawned with this process's loader (tsx), it answers
// each request with a message of a given type, or { type: 'error', message }.
import { spawn, type ChildProcess } from 'node:child_process';

export interface IpcChild {
  child: ChildProcess;
  /** The next message of `type`; rejects on an error message or if the process exits first. */
  next<T>(type: string): Promise<T>;
  /** Sends `message` and waits for the answer of type `answer`. */
  ask<T>(message: object, answer: string): Promise<T>;
  /** Sends `message` (its own way of stopping) and waits for the exit, killing it after `killAfterMs`. */
  stop(message: object, killAfterMs?: number): Promise<void>;
}

export function spawnIpcChild(file: string, what: string, env?: NodeJS.ProcessEnv): IpcChild {
  const child = spawn(process.execPath, [...process.execArgv, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(env ? { env } : {}) });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${what} exited (${code}) while the bench waited for "${type}"`));
      const onMessage = (message: { type: string; message?: string }) => {
        if (message.type === 'error') reject(new Error(message.message));
        else if (message.type === type) resolve(message as T);
        else return;
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return {
    child,
    next,
    ask: <T>(message: object, answer: string) => {
      const reply = next<T>(answer);
      child.send(message);
      return reply;
    },
    async stop(message, killAfterMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send(message);
      const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exited;
      clearTimeout(killer);
    },
  };
}

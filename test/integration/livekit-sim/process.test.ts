// The simulator as a process (dev/livekit-sim/main.ts under tsx), as the local stack and e2e tests run it.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSink } from './harness.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];

function runSimulator(args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/livekit-sim/main.ts', ...args], { cwd: repoRoot });
  children.push(child);
  return child;
}

async function firstLine(child: ChildProcessWithoutNullStreams): Promise<string> {
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  return line;
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('dev/livekit-sim/main.ts', () => {
  it('prints one ready line with its URL, serves the API and stops on SIGTERM', async () => {
    const webhooks = await WebhookSink.start('process-key', 'process-secret');
    try {
      const child = runSimulator([
        '--port', '0',
        '--api-key', 'process-key',
        '--api-secret', 'process-secret',
        '--webhook-url', webhooks.url,
        '--time-scale', '0.01',
      ]);
      const ready = JSON.parse(await firstLine(child)) as { event: string; url: string; apiKey: string };
      expect(ready.event).toBe('ready');
      expect(ready.apiKey).toBe('process-key');
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      expect(await (await fetch(`${ready.url}/`)).text()).toBe('OK');
      const rooms = new RoomServiceClient(ready.url, 'process-key', 'process-secret');
      await rooms.createRoom({ name: 'from-a-process' });
      await webhooks.untilEvent('from-a-process', 'room_started');

      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      await webhooks.stop();
    }
  });

  it('refuses invalid settings with a clear message', async () => {
    const child = runSimulator(['--time-scale=-1']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain('timeScale');
  });
});

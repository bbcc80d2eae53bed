// Runs the LiveKit simulator as a process:
//   npx tsx dev/livekit-sim/main.ts [--port 7880] [--host 127.0.0.1] [--api-key devkey] [--api-secret secret]
//                                   [--webhook-url http://127.0.0.1:3000/livekit/webhook ...] [--time-scale 1]
// Each flag falls back to an environment variable (LIVEKIT_SIM_PORT, LIVEKIT_SIM_HOST, LIVEKIT_API_KEY,
// LIVEKIT_API_SECRET, LIVEKIT_SIM_WEBHOOK_URLS comma-separated, LIVEKIT_SIM_TIME_SCALE). When it is ready
// it prints exactly one line to stdout: {"event":"ready","url":"http://127.0.0.1:7880",...}.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startLiveKitSimulator } from './simulator.js';

const settingsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  apiKey: z.string().min(1),
  apiSecret: z.string().min(1),
  webhookUrls: z.array(z.url()),
  timeScale: z.coerce.number().positive(),
});

type Settings = z.infer<typeof settingsSchema>;

function readSettings(args: string[], env: NodeJS.ProcessEnv): Settings {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
      'webhook-url': { type: 'string', multiple: true },
      'time-scale': { type: 'string' },
    },
    strict: true,
  });
  const parsed = settingsSchema.safeParse({
    port: values.port ?? env.LIVEKIT_SIM_PORT ?? '7880',
    host: values.host ?? env.LIVEKIT_SIM_HOST ?? '127.0.0.1',
    apiKey: values['api-key'] ?? env.LIVEKIT_API_KEY ?? 'devkey',
    apiSecret: values['api-secret'] ?? env.LIVEKIT_API_SECRET ?? 'secret',
    webhookUrls: values['webhook-url'] ?? splitList(env.LIVEKIT_SIM_WEBHOOK_URLS),
    timeScale: values['time-scale'] ?? env.LIVEKIT_SIM_TIME_SCALE ?? '1',
  });
  if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
  return parsed.data;
}

let settings: Settings;
try {
  settings = readSettings(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`livekit-sim: invalid settings: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}

const simulator = await startLiveKitSimulator(settings).catch((error: unknown) => {
  console.error(`livekit-sim: cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
console.log(
  JSON.stringify({
    event: 'ready',
    url: simulator.url,
    apiKey: simulator.apiKey,
    webhookUrls: settings.webhookUrls,
    timeScale: settings.timeScale,
  }),
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    simulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('livekit-sim: failed to stop cleanly', error);
        process.exit(1);
      },
    );
  });
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

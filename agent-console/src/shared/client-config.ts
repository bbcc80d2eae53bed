import { call, client, type Schemas } from './api';

/** 'simulated' media: LiveKit is the dev simulator, there is no real media; 'none': LiveKit is not configured. */
export type ClientConfig = Schemas['ClientConfig'];

let cached: Promise<ClientConfig> | undefined;

export function clientConfig(): Promise<ClientConfig> {
  cached ??= call(client.GET('/api/client-config')).catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

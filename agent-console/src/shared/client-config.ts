import { api } from './api';

export interface ClientConfig {
  /** 'simulated': LiveKit is the dev simulator, there is no real media; 'none': LiveKit is not configured. */
  media: 'livekit' | 'simulated' | 'none';
  livekitUrl: string | null;
  locales: ('zh-CN' | 'en')[];
}

let cached: Promise<ClientConfig> | undefined;

export function clientConfig(): Promise<ClientConfig> {
  cached ??= api<ClientConfig>('GET', '/api/client-config').catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

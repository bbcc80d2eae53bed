import { ApiError } from './api';

/** Shows an API failure in plain words; the stable code stays visible for support. */
export function ErrorNote({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null;
  const text = error instanceof ApiError ? error.detail : error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div className="alert error" role="alert">
      {prefix ? `${prefix} ` : ''}
      {text}
      {code ? <span className="hint"> ({code})</span> : null}
    </div>
  );
}

import { ApiError } from './api';

/** Shows an API failure in plain words; the stable code is kept on the element for support, not shown to the reader. */
export function ErrorNote({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null;
  const text = error instanceof ApiError ? error.detail : error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div className="alert error" role="alert" data-code={code}>
      {prefix ? `${prefix} ` : ''}
      {text}
    </div>
  );
}

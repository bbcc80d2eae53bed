import { ApiError } from './api';
import { useLocale } from './i18n';
import { problemText } from './problems';

/** Chinese sentences end in full-width punctuation (。：), which needs no space after it. */
const FULL_WIDTH_END = /[\u3000-\u303f\uff00-\uffef]$/;

/**
 * Shows a failure in plain words in the page's language. The error is kept as it came (its code) and worded
 * here, at render time, so switching the language re-words a note already on screen. The stable code is
 * kept on the element for support, not shown to the reader.
 */
export function ErrorNote({ error, prefix }: { error: unknown; prefix?: string }) {
  const { locale } = useLocale();
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : error instanceof Error ? error.name : undefined;
  return (
    <div className="alert error" role="alert" data-code={code} data-testid="error-note">
      {prefix ? (FULL_WIDTH_END.test(prefix) ? prefix : `${prefix} `) : ''}
      {problemText(code, locale)}
    </div>
  );
}

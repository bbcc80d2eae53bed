// A failure the borrower can read in their language; the stable code stays visible for support.
import { ApiError } from '../shared/api';
import { useT } from '../shared/i18n';
import { joinMessages } from './messages';

export function JoinError({ error }: { error: unknown }) {
  const t = useT(joinMessages);
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : undefined;
  const text = code === 'NETWORK' ? t('errorOffline') : code === 'SERVICE_UNAVAILABLE' ? t('errorUnavailable') : t('errorGeneric');
  return (
    <div className="alert error" role="alert">
      {text}
      {code && code !== 'NETWORK' ? <span className="hint"> {t('errorCode', { code })}</span> : null}
    </div>
  );
}

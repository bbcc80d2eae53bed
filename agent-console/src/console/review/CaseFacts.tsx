import { useLocale, useLocalized, useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { promptPlain, type PromptValues } from '../../shared/prompt';
import { reviewMessages } from './messages';
import type { ReviewFile } from './types';

/** Why the outcome is what it is: the outcome rules' findings and the supervisor's decision note. */
export function CaseFacts({ file, values }: { file: ReviewFile; values: PromptValues }) {
  const t = useT(reviewMessages);
  const labels = useLabels();
  const localized = useLocalized();
  const { locale } = useLocale();
  const { session } = file;
  // Once the checklist is submitted, the session's end reason holds the outcome rules' findings (a cancelled session's says why it was cancelled).
  const findings = session.outcome && session.endReason && !session.endReason.startsWith('cancelled') ? session.endReason.split(',').filter((r) => r.includes(':')) : [];
  const promptOf = (itemId: string) => {
    const item = file.items.find((i) => i.id === itemId);
    return item ? promptPlain(localized(item.prompt), values, locale) : undefined;
  };
  if (findings.length === 0 && !session.decisionNote) return null;
  return (
    <section className="panel" aria-labelledby="case-title" data-testid="case-facts">
      <h2 id="case-title">{t('caseTitle')}</h2>
      {findings.length > 0 ? (
        <>
          <h3>{t('findings')}</h3>
          <ul data-testid="case-findings">
            {findings.map((r) => (
              <li key={r}>{labels.reason(r, promptOf)}</li>
            ))}
          </ul>
        </>
      ) : null}
      {session.decisionNote ? (
        <>
          <h3>{t('supervisorNote')}</h3>
          <p className="review-note" data-testid="supervisor-note">
            “{session.decisionNote}”
          </p>
        </>
      ) : null}
    </section>
  );
}

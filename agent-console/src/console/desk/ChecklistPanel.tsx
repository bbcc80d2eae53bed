// The checklist in the session's randomised order. Every answer is saved the moment it is given and shown
// as saved only when the server acknowledged it. Fully usable from the keyboard (roving focus over items;
// 1/C, 2/D, 3/U answer; N writes a note); unsent notes survive a reload in this browser.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { call, client } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useT, type Locale } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { promptParts } from '../../shared/prompt';
import { deskMessages } from './messages';
import type { AnswerValue, Checklist, ChecklistItem } from './types';

const ANSWERS: { value: AnswerValue; keys: string[]; cls: string }[] = [
  { value: 'CONFIRMED', keys: ['1', 'c'], cls: 'confirmed' },
  { value: 'DENIED', keys: ['2', 'd'], cls: 'denied' },
  { value: 'UNCLEAR', keys: ['3', 'u'], cls: 'unclear' },
];

// Per-item state is kept in Maps keyed by item id: `constructor` is a valid item id, and a plain object
// would hand every item by that name an inherited value (the item would show as saving, its buttons locked).
function useNoteDrafts(sessionId: string) {
  const key = `facesign.notes.${sessionId}`;
  const [drafts, setDrafts] = useState<ReadonlyMap<string, string>>(() => {
    try {
      const stored: unknown = JSON.parse(localStorage.getItem(key) ?? '{}');
      const entries = stored !== null && typeof stored === 'object' ? Object.entries(stored) : [];
      return new Map(entries.filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    } catch {
      return new Map();
    }
  });
  const setDraft = useCallback(
    (itemId: string, text: string) =>
      setDrafts((d) => {
        const next = new Map(d).set(itemId, text);
        localStorage.setItem(key, JSON.stringify(Object.fromEntries(next)));
        return next;
      }),
    [key],
  );
  return { drafts, setDraft };
}

/** The agent's own note on an answer; the automated call's note is shown apart, in the viewer's language. */
const agentNote = (item: ChecklistItem): string | undefined => (item.answer?.answeredBy === 'AGENT' ? (item.answer.note ?? undefined) : undefined);

function without<V>(map: ReadonlyMap<string, V>, key: string): ReadonlyMap<string, V> {
  if (!map.has(key)) return map;
  const next = new Map(map);
  next.delete(key);
  return next;
}

export function ChecklistPanel({ sessionId, checklist, promptLocale, values, editable, onSaved }: { sessionId: string; checklist: Checklist; promptLocale: Locale; values: Record<string, string>; editable: boolean; onSaved(): void }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const items = checklist.items;
  const [current, setCurrent] = useState(() => Math.max(0, items.findIndex((i) => !i.answer)));
  const [pending, setPending] = useState<ReadonlyMap<string, AnswerValue>>(new Map());
  const [errors, setErrors] = useState<ReadonlyMap<string, unknown>>(new Map());
  const { drafts, setDraft } = useNoteDrafts(sessionId);
  const itemRefs = useRef<(HTMLLIElement | null)[]>([]);
  const noteRefs = useRef<(HTMLTextAreaElement | null)[]>([]);

  const focusItem = (index: number) => {
    const bounded = Math.min(items.length - 1, Math.max(0, index));
    setCurrent(bounded);
    itemRefs.current[bounded]?.focus();
  };

  const save = async (item: ChecklistItem, value: AnswerValue, note: string | undefined) => {
    setPending((p) => new Map(p).set(item.id, value));
    setErrors((e) => without(e, item.id));
    try {
      await call(client.PUT('/api/sessions/{id}/answers/{itemId}', { params: { path: { id: sessionId, itemId: item.id } }, body: { value, ...(note ? { note } : {}) } }));
      onSaved();
    } catch (error) {
      setErrors((e) => new Map(e).set(item.id, error));
    } finally {
      setPending((p) => without(p, item.id));
    }
  };

  const answer = (index: number, value: AnswerValue) => {
    const item = items[index];
    if (!item || !editable) return;
    void save(item, value, drafts.get(item.id) ?? agentNote(item));
    const next = items.findIndex((candidate, i) => i > index && !candidate.answer);
    if (next >= 0) focusItem(next);
  };

  const saveNote = (item: ChecklistItem) => {
    const draft = drafts.get(item.id);
    if (!editable || !item.answer || draft === undefined || draft === (agentNote(item) ?? '')) return;
    void save(item, item.answer.value, draft);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLOListElement>) => {
    const target = event.target as HTMLElement;
    if (target.tagName === 'TEXTAREA' || target.tagName === 'INPUT' || target.tagName === 'SELECT') {
      if (event.key === 'Escape') itemRefs.current[current]?.focus();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    if (key === 'arrowdown' || key === 'j') {
      event.preventDefault();
      focusItem(current + 1);
    } else if (key === 'arrowup' || key === 'k') {
      event.preventDefault();
      focusItem(current - 1);
    } else if (key === 'n') {
      event.preventDefault();
      noteRefs.current[current]?.focus();
    } else {
      const match = ANSWERS.find((a) => a.keys.includes(key));
      if (match) {
        event.preventDefault();
        answer(current, match.value);
      }
    }
  };

  useEffect(() => {
    itemRefs.current = itemRefs.current.slice(0, items.length);
  }, [items.length]);

  return (
    <>
      {checklist.liveness ? (
        <div className="alert info">
          <strong>{t('liveness')}:</strong> {checklist.liveness.prompt[promptLocale]}
        </div>
      ) : null}
      <ol className="checklist" onKeyDown={onKeyDown} aria-label={t('checklist')}>
        {items.map((item, index) => {
          const shown = pending.get(item.id) ?? item.answer?.value;
          const saving = pending.has(item.id);
          const promptId = `prompt-${item.id}`;
          return (
            <li
              key={item.id}
              ref={(el) => {
                itemRefs.current[index] = el;
              }}
              tabIndex={index === current ? 0 : -1}
              aria-current={index === current ? 'true' : undefined}
              aria-labelledby={promptId}
              className={item.answer ? 'answered' : undefined}
              onFocus={(e) => e.target === e.currentTarget && setCurrent(index)}
              data-testid={`item-${item.id}`}
            >
              <div className="spread">
                <span className="hint">
                  {index + 1}. {item.required ? <span className="badge warn">{t('required')}</span> : <span className="badge">{t('optional')}</span>}
                </span>
                <span className="hint" aria-live="polite">
                  {saving ? t('saving') : item.answer ? `${t('saved')} · ${t(item.answer.value)}` : ''}
                </span>
              </div>
              <p className="prompt" id={promptId} lang={promptLocale}>
                {promptParts(item.prompt[promptLocale], values, promptLocale)}
              </p>
              {item.answer?.answeredBy === 'AUTOMATED_CALL' ? (
                <p className="hint" data-testid="answered-by-bot">
                  <span className="badge info">{t('answeredByBot')}</span>
                  {item.answer.noteCode || item.answer.note ? ` ${t('botNote', { note: labels.automatedNote(item.answer.noteCode ?? '', item.answer.noteParams, item.answer.note) ?? '' })}` : null}
                </p>
              ) : null}
              {item.guidance ? (
                <details>
                  <summary>{t('guidance')}</summary>
                  <p className="hint" lang={promptLocale}>
                    {promptParts(item.guidance[promptLocale], values, promptLocale)}
                  </p>
                </details>
              ) : null}
              <div className="row answers" role="group" aria-label={`${index + 1}`}>
                {ANSWERS.map((a) => (
                  <button
                    key={a.value}
                    type="button"
                    className={`answer-btn small ${a.cls}`}
                    aria-pressed={shown === a.value}
                    disabled={!editable || saving}
                    tabIndex={index === current ? 0 : -1}
                    onClick={() => {
                      setCurrent(index);
                      answer(index, a.value);
                    }}
                  >
                    {t(a.value)} <span className="kbd" aria-hidden="true">{a.keys[0]}</span>
                  </button>
                ))}
              </div>
              <label className="field note-field">
                <span className="visually-hidden">
                  {t('note')} {index + 1}
                </span>
                <textarea
                  ref={(el) => {
                    noteRefs.current[index] = el;
                  }}
                  aria-label={`${t('note')} ${index + 1}`}
                  placeholder={t('notePlaceholder')}
                  value={drafts.get(item.id) ?? agentNote(item) ?? ''}
                  disabled={!editable}
                  tabIndex={index === current ? 0 : -1}
                  rows={1}
                  onChange={(e) => setDraft(item.id, e.target.value)}
                  onBlur={() => saveNote(item)}
                />
              </label>
              <ErrorNote error={errors.get(item.id)} />
            </li>
          );
        })}
      </ol>
    </>
  );
}

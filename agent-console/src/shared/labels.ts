// The words people read for the codes the server sends: session states, outcomes, risk flags, capture
// kinds, dial outcomes, escalation reasons, languages and products. One catalogue for every page, so a
// code has one name everywhere, in both languages. A code this catalogue does not know yet is shown
// in plain words (lower case, spaces), never as the code itself.
import { useCallback, useMemo } from 'react';
import type { components } from './api-schema';
import { defineMessages, useLocale, type Locale } from './i18n';

const labelMessages = defineMessages({
  en: {
    state_SCHEDULED: 'Scheduled',
    state_DISPATCHING: 'Dispatching',
    state_RINGING: 'Ringing',
    state_WAITING: 'Waiting room',
    state_IN_PROGRESS: 'In progress',
    state_RETRY_PENDING: 'Will be tried again',
    state_WRAP_UP: 'Wrap-up',
    state_ESCALATED: 'Escalated',
    state_COMPLETED: 'Completed',
    state_EXHAUSTED: 'Attempts used up',
    state_CANCELLED: 'Cancelled',
    state_EXPIRED: 'Expired',
    outcome_PASSED: 'Passed',
    outcome_FAILED: 'Failed',
    outcome_ESCALATED: 'Escalated',
    flag_EVASIVE: 'Evasive answers',
    flag_NERVOUS: 'Nervous',
    flag_THIRD_PARTY_PRESENT: 'Third party present',
    flag_PROMPTED: 'Prompted by someone',
    flag_INCONSISTENT: 'Inconsistent answers',
    flag_IDENTITY_MISMATCH: 'Identity mismatch',
    flag_COERCION_SUSPECTED: 'Coercion suspected',
    flag_POOR_AUDIO_VIDEO: 'Poor audio or video',
    severity_LOW: 'Low',
    severity_MEDIUM: 'Medium',
    severity_HIGH: 'High',
    capture_FACE: 'Face',
    capture_ID_FRONT: 'ID front',
    capture_ID_BACK: 'ID back',
    capture_LIVENESS_BEFORE: 'Liveness: before',
    capture_LIVENESS_ACTION: 'Liveness: during',
    faceMatch_MATCH: 'Match',
    faceMatch_UNCERTAIN: 'Uncertain',
    faceMatch_NO_MATCH: 'No match',
    faceMatch_NO_FACE: 'No face found',
    faceMatch_MULTIPLE_FACES: 'More than one face',
    faceMatch_UNREADABLE: 'Image could not be read',
    faceMatch_PENDING: 'Comparing…',
    faceMatch_FAILED: 'Comparison failed',
    liveness_PASSED: 'Movement seen',
    liveness_NOT_OBSERVED: 'Movement not seen',
    liveness_NO_FACE: 'No face found',
    liveness_MULTIPLE_FACES: 'More than one face',
    liveness_NOT_CHECKABLE: 'Not checkable from the face',
    liveness_UNREADABLE: 'Image could not be read',
    liveness_PENDING: 'Checking…',
    liveness_FAILED: 'Check failed',
    movement_TURN_LEFT: 'head turned to the party’s left',
    movement_TURN_RIGHT: 'head turned to the party’s right',
    movement_TURN_EITHER: 'head turned',
    movement_NOD: 'nod',
    movement_BLINK: 'eyes closed in one frame, open in the other',
    movement_OPEN_MOUTH: 'mouth open in one frame, closed in the other',
    dial_ANSWERED: 'Answered',
    dial_BUSY: 'Line busy',
    dial_NO_ANSWER: 'No answer',
    dial_DECLINED: 'Call declined',
    dial_INVALID_NUMBER: 'Number not in service',
    dial_CARRIER_FAILURE: 'Carrier failure',
    dial_TRUNK_UNAVAILABLE: 'Phone line unavailable',
    dial_RATE_LIMITED: 'Too many calls at once',
    reason_required_denied: 'Required item denied',
    reason_required_unclear: 'Required item unclear',
    reason_high_risk_flag: 'High-severity risk flag',
    reason_optional_denied: 'Optional item denied',
    reason_not_asked: 'Not asked',
    reason_risk_signs: "Agent noted risk signs",
    lang_zh_CN: 'Chinese',
    lang_en: 'English',
    product_consumer_loan: 'Consumer loan',
    product_mortgage: 'Mortgage',
    product_mortgage_release: 'Mortgage release',
    product_car_loan: 'Car loan',
    product_business_loan: 'Business loan',
    product_credit_card: 'Credit card instalments',
    mode_AGENT: 'Agent call',
    mode_AUTOMATED_CALL: 'Automated call',
    handOff_DENIED: 'the party said no to a question',
    handOff_UNCLEAR: 'no clear answer after the question was repeated',
    handOff_NO_INPUT: 'the party pressed no key in time',
    handOff_HUNG_UP: 'the party hung up',
    handOff_BOT_FAILED: 'the automated call could not run',
    handOff_NOT_RECORDED: 'the recording did not start, so nothing was asked',
    autoNote_NO_KEY: 'No key pressed within {seconds} s.',
    autoNote_NO_KEY_SPOKE: 'No key pressed within {seconds} s; the party spoke ({spokeSeconds} s).',
    autoNote_DENIED_KEY: 'The party pressed 2 (no).',
    autoNote_REPEATS_USED: 'No answer after the question was read {times} times (last key pressed: {lastKey}).',
  },
  'zh-CN': {
    state_SCHEDULED: '已排期',
    state_DISPATCHING: '派发中',
    state_RINGING: '振铃中',
    state_WAITING: '候诊室',
    state_IN_PROGRESS: '进行中',
    state_RETRY_PENDING: '待重试',
    state_WRAP_UP: '收尾',
    state_ESCALATED: '已升级',
    state_COMPLETED: '已完成',
    state_EXHAUSTED: '尝试次数已用尽',
    state_CANCELLED: '已取消',
    state_EXPIRED: '已过期',
    outcome_PASSED: '通过',
    outcome_FAILED: '未通过',
    outcome_ESCALATED: '已升级',
    flag_EVASIVE: '回答闪烁其词',
    flag_NERVOUS: '神情紧张',
    flag_THIRD_PARTY_PRESENT: '有第三方在场',
    flag_PROMPTED: '有人在旁提示',
    flag_INCONSISTENT: '回答前后矛盾',
    flag_IDENTITY_MISMATCH: '身份不符',
    flag_COERCION_SUSPECTED: '疑似被胁迫',
    flag_POOR_AUDIO_VIDEO: '音视频质量差',
    severity_LOW: '低',
    severity_MEDIUM: '中',
    severity_HIGH: '高',
    capture_FACE: '人脸',
    capture_ID_FRONT: '证件正面',
    capture_ID_BACK: '证件背面',
    capture_LIVENESS_BEFORE: '活体：动作前',
    capture_LIVENESS_ACTION: '活体：动作中',
    faceMatch_MATCH: '一致',
    faceMatch_UNCERTAIN: '不确定',
    faceMatch_NO_MATCH: '不一致',
    faceMatch_NO_FACE: '未检测到人脸',
    faceMatch_MULTIPLE_FACES: '检测到多张人脸',
    faceMatch_UNREADABLE: '图像无法读取',
    faceMatch_PENDING: '比对中…',
    faceMatch_FAILED: '比对失败',
    liveness_PASSED: '已观察到动作',
    liveness_NOT_OBSERVED: '未观察到动作',
    liveness_NO_FACE: '未检测到人脸',
    liveness_MULTIPLE_FACES: '检测到多张人脸',
    liveness_NOT_CHECKABLE: '无法通过人脸检查',
    liveness_UNREADABLE: '图像无法读取',
    liveness_PENDING: '检查中…',
    liveness_FAILED: '检查失败',
    movement_TURN_LEFT: '头部转向对方左侧',
    movement_TURN_RIGHT: '头部转向对方右侧',
    movement_TURN_EITHER: '转头',
    movement_NOD: '点头',
    movement_BLINK: '一帧闭眼、另一帧睁眼',
    movement_OPEN_MOUTH: '一帧张嘴、另一帧闭嘴',
    dial_ANSWERED: '已接听',
    dial_BUSY: '占线',
    dial_NO_ANSWER: '无人接听',
    dial_DECLINED: '对方拒接',
    dial_INVALID_NUMBER: '号码无法接通',
    dial_CARRIER_FAILURE: '运营商故障',
    dial_TRUNK_UNAVAILABLE: '外呼线路不可用',
    dial_RATE_LIMITED: '同时外呼过多',
    reason_required_denied: '必答项被否认',
    reason_required_unclear: '必答项不明确',
    reason_high_risk_flag: '高风险标记',
    reason_optional_denied: '选答项被否认',
    reason_not_asked: '未询问',
    reason_risk_signs: '坐席发现风险迹象',
    lang_zh_CN: '中文',
    lang_en: '英语',
    product_consumer_loan: '消费贷款',
    product_mortgage: '住房按揭贷款',
    product_mortgage_release: '解押贷款',
    product_car_loan: '汽车贷款',
    product_business_loan: '经营贷款',
    product_credit_card: '信用卡分期',
    mode_AGENT: '坐席外呼',
    mode_AUTOMATED_CALL: '自动外呼',
    handOff_DENIED: '客户对问题按键否认',
    handOff_UNCLEAR: '问题重复播报后仍未得到明确回答',
    handOff_NO_INPUT: '客户未在规定时间内按键',
    handOff_HUNG_UP: '客户挂断了电话',
    handOff_BOT_FAILED: '自动外呼无法运行',
    handOff_NOT_RECORDED: '录音未能启动，未进行任何提问',
    autoNote_NO_KEY: '{seconds} 秒内未按键。',
    autoNote_NO_KEY_SPOKE: '{seconds} 秒内未按键；客户说了话（{spokeSeconds} 秒）。',
    autoNote_DENIED_KEY: '客户按了 2（否认）。',
    autoNote_REPEATS_USED: '问题播报 {times} 次后仍无有效回答（最后按键：{lastKey}）。',
  },
});

type LabelKey = keyof (typeof labelMessages)['en'];

/** A code in plain words when the catalogue has no name for it: `SOME_CODE` → "some code". */
export function plainWords(code: string): string {
  const spaced = code.replace(/[_-]+/g, ' ').trim().toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function lookup(locale: Locale, key: string): string | undefined {
  return (labelMessages[locale] as Record<string, string>)[key];
}

/** The lender's own name for a product, in one or both languages. */
export type ProductName = NonNullable<components['schemas']['ProductName']>;

export interface Labels {
  state(code: string): string;
  outcome(code: string): string;
  flag(code: string): string;
  severity(code: string): string;
  capture(code: string): string;
  /** A face-match result (MATCH, NO_FACE, …) or, while there is none, its status (PENDING, FAILED). */
  faceMatch(code: string): string;
  /** An active-liveness result (PASSED, NOT_OBSERVED, …) or, while there is none, its status. */
  liveness(code: string): string;
  /** The movement a liveness prompt asks for (TURN_LEFT, BLINK, …), as a phrase. */
  movement(code: string): string;
  dialOutcome(code: string): string;
  language(code: string): string;
  product(code: string): string;
  /**
   * The product as the borrower's page names it: the lender's own name for it when the LOS sent one
   * (this language first), else the catalogue's word for the product code.
   */
  productNamed(code: string, names: ProductName | null | undefined): string;
  /** How a session is run: by an agent or by the automated confirmation call. */
  mode(code: string): string;
  /** Why the automated call handed the party to a person, as a clause ("the party hung up"). */
  handOffReason(code: string): string;
  /**
   * The automated call's note on an answer, in this language, from its code and values; `fallback`
   * (the stored English wording) when the code is not known here.
   */
  automatedNote(code: string, params: Record<string, string | number> | null, fallback: string | null): string | null;
  /**
   * An outcome rule's finding (`high_risk_flag:PROMPTED`, `required_unclear:identity_name`) in words;
   * `promptOf` names a checklist item by its prompt when the page has the checklist.
   */
  reason(reason: string, promptOf?: (itemId: string) => string | undefined): string;
}

export function labelsFor(locale: Locale): Labels {
  const named = (prefix: string) => (code: string) => lookup(locale, `${prefix}${code.replace(/-/g, '_')}`) ?? plainWords(code);
  const flag = named('flag_');
  return {
    state: named('state_'),
    outcome: named('outcome_'),
    flag,
    severity: named('severity_'),
    capture: named('capture_'),
    faceMatch: named('faceMatch_'),
    liveness: named('liveness_'),
    movement: named('movement_'),
    dialOutcome: named('dial_'),
    language: named('lang_'),
    product: named('product_'),
    productNamed: (code, names) => names?.[locale] ?? names?.en ?? names?.['zh-CN'] ?? named('product_')(code),
    mode: named('mode_'),
    handOffReason: named('handOff_'),
    automatedNote(code, params, fallback) {
      const text = lookup(locale, `autoNote_${code}`);
      if (!text) return fallback;
      let complete = true;
      const worded = text.replace(/\{(\w+)\}/g, (_whole, name: string) => {
        if (params && name in params) return String(params[name]);
        complete = false;
        return '';
      });
      return complete ? worded : (fallback ?? worded);
    },
    reason(reason, promptOf) {
      const [kind = '', subject = ''] = reason.split(':');
      // The agent's own assessment answered "signs were present" is a finding of its own, not a denial.
      if (kind === 'optional_denied' && subject === 'risk_assessment') return lookup(locale, 'reason_risk_signs' satisfies LabelKey)!;
      const label = lookup(locale, `reason_${kind}`) ?? plainWords(kind);
      if (!subject) return label;
      const what = kind === 'high_risk_flag' ? flag(subject) : (promptOf?.(subject) ?? plainWords(subject));
      return `${label}${locale === 'zh-CN' ? '：' : ': '}${what}`;
    },
  };
}

/** The catalogue in the page's language. */
export function useLabels(): Labels {
  const { locale } = useLocale();
  return useMemo(() => labelsFor(locale), [locale]);
}

/** Reasons as one line, e.g. for the desk's summary after submitting. */
export function useReasonList(): (reasons: readonly string[]) => string {
  const labels = useLabels();
  const { locale } = useLocale();
  return useCallback((reasons) => reasons.map((r) => labels.reason(r)).join(locale === 'zh-CN' ? '；' : '; '), [labels, locale]);
}

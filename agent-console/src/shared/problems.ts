// What a refusal from the server means, in the console's two languages: one sentence per stable problem
// code (server/shared/errors.ts holds the table; test/unit/console-problems.test.ts keeps the two in step).
// A page keeps the error itself (code, fields) and words it when it renders, so a change of language
// re-words what is on screen. An unknown code reads as the generic sentence, never as the code.
// No imports: the unit test loads this file under Node.

type Words = { en: string; 'zh-CN': string };

export const PROBLEM_MESSAGES = {
  VALIDATION_FAILED: { en: 'Some of what was entered is not valid. Check the marked fields.', 'zh-CN': '部分填写内容无效，请检查标出的字段。' },
  MALFORMED_BODY: { en: 'The request could not be read. Reload the page and try again.', 'zh-CN': '请求无法读取，请刷新页面后重试。' },
  MALFORMED_REQUEST: { en: 'The request could not be read. Reload the page and try again.', 'zh-CN': '请求无法读取，请刷新页面后重试。' },
  UNAUTHENTICATED: { en: 'You are signed out. Sign in again to continue.', 'zh-CN': '您已退出登录，请重新登录后继续。' },
  INVALID_CREDENTIALS: { en: 'The e-mail address or password is wrong.', 'zh-CN': '邮箱或密码错误。' },
  WEBHOOK_SIGNATURE_INVALID: { en: 'The message signature is not valid.', 'zh-CN': '消息签名无效。' },
  PARTY_TOKEN_INVALID: { en: 'Enter the one-time code first.', 'zh-CN': '请先输入一次性验证码。' },
  FORBIDDEN: { en: 'Your role does not allow this.', 'zh-CN': '您的角色无权执行此操作。' },
  CSRF_TOKEN_INVALID: { en: 'Your sign-in has changed. Reload the page and try again.', 'zh-CN': '登录状态已变化，请刷新页面后重试。' },
  NOT_FOUND: { en: 'It no longer exists, or you may not see it.', 'zh-CN': '该内容不存在，或您无权查看。' },
  BORROWER_LINK_INVALID: { en: 'This link is not valid.', 'zh-CN': '此链接无效。' },
  ROUTE_NOT_FOUND: { en: 'This action is not available on this server.', 'zh-CN': '此服务器不支持该操作。' },
  EXTERNAL_REF_CONFLICT: { en: 'A loan file with this reference already exists with different details.', 'zh-CN': '已有相同编号但内容不同的贷款档案。' },
  VERSION_CONFLICT: { en: 'Someone else changed this meanwhile. Reload and try again.', 'zh-CN': '他人已修改此内容，请刷新后重试。' },
  EMAIL_TAKEN: { en: 'A user with this e-mail address already exists.', 'zh-CN': '已有使用此邮箱的用户。' },
  SESSION_STATE_CONFLICT: { en: 'The session has changed meanwhile. Reload and try again.', 'zh-CN': '会话状态已变化，请刷新后重试。' },
  RECORDING_STATE_CONFLICT: { en: 'The recording is not ready for this yet.', 'zh-CN': '录像当前状态不允许此操作。' },
  RETENTION_ACTIVE: { en: 'The recording is under retention or legal hold and cannot be deleted.', 'zh-CN': '录像处于保存期或法律保全中，不能删除。' },
  BORROWER_LINK_EXPIRED: { en: 'This link has expired.', 'zh-CN': '此链接已过期。' },
  BORROWER_LINK_USED_UP: { en: 'This link has been used too many times.', 'zh-CN': '此链接使用次数过多。' },
  SESSION_CLOSED: { en: 'This verification is over or was cancelled.', 'zh-CN': '此次核验已结束或已取消。' },
  RECORDING_NOT_PLAYABLE: { en: 'Only a verified recording can be played.', 'zh-CN': '只有校验完成的录像才能播放。' },
  REQUEST_TIMEOUT: { en: 'The request took too long. Try again.', 'zh-CN': '请求超时，请重试。' },
  PAYLOAD_TOO_LARGE: { en: 'What was sent is too large.', 'zh-CN': '提交的内容过大。' },
  UNSUPPORTED_MEDIA_TYPE: { en: 'This kind of file is not accepted.', 'zh-CN': '不接受此类文件。' },
  RANGE_NOT_SATISFIABLE: { en: 'That part of the file cannot be served.', 'zh-CN': '无法提供文件的该部分。' },
  CHECKLIST_INCOMPLETE: { en: 'Required checklist items are still open.', 'zh-CN': '还有必答的核验项未完成。' },
  OFFER_NOT_AVAILABLE: { en: 'The offer was withdrawn, expired or taken by someone else.', 'zh-CN': '该任务已撤回、已过期或已被他人接走。' },
  LOAN_TERMS_MISSING: { en: 'The loan file lacks loan terms the script states; add them first.', 'zh-CN': '贷款档案缺少话术需要陈述的贷款条款，请先补充。' },
  SIGNING_NOT_CONFIRMED: { en: 'The party has not signed with the signing code yet. Without a contract to sign, answer Unclear and say why in the note.', 'zh-CN': '当事人尚未用签署验证码完成签署。如本次没有需签署的合同，请选择“不明确”并在备注中说明原因。' },
  CONTRACT_HASH_MISMATCH: { en: 'The contract does not match the document supplied for this loan file.', 'zh-CN': '合同与该贷款档案提供的合同文件不一致。' },
  CONTRACT_FETCH_DISABLED: { en: 'This server does not fetch contracts from a link. Upload the PDF instead.', 'zh-CN': '此服务器不通过链接获取合同，请直接上传 PDF。' },
  CONTRACT_URL_NOT_ALLOWED: { en: 'facesign does not fetch contracts from this link.', 'zh-CN': '不允许从该链接获取合同。' },
  OUTSIDE_CALLING_HOURS: { en: "The time is outside the party's calling hours.", 'zh-CN': '该时间不在当事人的可联系时段内。' },
  OTP_INVALID: { en: 'The one-time code is wrong.', 'zh-CN': '验证码错误。' },
  OTP_EXPIRED: { en: 'The one-time code has expired; ask for a new one.', 'zh-CN': '验证码已过期，请重新获取。' },
  CONSENT_REQUIRED: { en: 'Consent to recording and data processing is required.', 'zh-CN': '需要同意录音录像及数据处理。' },
  TOO_EARLY: { en: 'The waiting room is not open yet.', 'zh-CN': '候诊室尚未开放。' },
  IDEMPOTENCY_KEY_REUSED: { en: 'This request was already sent with different content.', 'zh-CN': '相同请求已以不同内容提交过。' },
  OTP_LOCKED: { en: 'Too many wrong codes. Try again later.', 'zh-CN': '验证码错误次数过多，请稍后再试。' },
  ACCOUNT_LOCKED: { en: 'Too many failed sign-ins. Wait a little and try again.', 'zh-CN': '登录失败次数过多，请稍候再试。' },
  RATE_LIMITED: { en: 'Too many requests. Wait a moment and try again.', 'zh-CN': '请求过于频繁，请稍候再试。' },
  HEADERS_TOO_LARGE: { en: 'The request is too large. Reload the page and try again.', 'zh-CN': '请求过大，请刷新页面后重试。' },
  INTERNAL: { en: 'Something went wrong on the server. Try again; if it keeps happening, tell support.', 'zh-CN': '服务器出错，请重试；如反复出现，请联系技术支持。' },
  CONTRACT_FETCH_FAILED: { en: 'The contract could not be fetched from the link.', 'zh-CN': '无法从该链接获取合同。' },
  SERVICE_UNAVAILABLE: { en: 'A service facesign depends on is unavailable. Try again in a few minutes.', 'zh-CN': '依赖的服务暂不可用，请几分钟后再试。' },
  EVIDENCE_PDF_UNAVAILABLE: { en: 'The evidence PDF cannot be produced on this server.', 'zh-CN': '此服务器无法生成证据 PDF。' },
  CONTRACT_FETCH_TIMEOUT: { en: 'The contract link did not answer in time.', 'zh-CN': '合同链接未在规定时间内响应。' },
  // Raised by the console itself.
  NETWORK: { en: 'The server cannot be reached. Check the connection and try again.', 'zh-CN': '无法连接服务器，请检查网络后重试。' },
} as const satisfies Record<string, Words>;

/** Failures of the browser itself (camera, microphone), by the DOMException's name. */
const BROWSER_MESSAGES: Record<string, Words> = {
  NotAllowedError: { en: 'The camera or microphone is blocked. Allow them in the browser and try again.', 'zh-CN': '摄像头或麦克风被禁止，请在浏览器中允许后重试。' },
  NotFoundError: { en: 'No camera or microphone was found.', 'zh-CN': '未找到摄像头或麦克风。' },
  NotReadableError: { en: 'The camera or microphone is in use by another program.', 'zh-CN': '摄像头或麦克风正被其他程序占用。' },
  SecurityError: { en: 'This browser does not allow the camera here.', 'zh-CN': '此浏览器不允许在此使用摄像头。' },
};

const GENERIC: Words = { en: 'Something went wrong. Try again.', 'zh-CN': '操作未成功，请重试。' };

export type ProblemCode = keyof typeof PROBLEM_MESSAGES;
export type ProblemLocale = keyof Words;

/** The sentence for a problem code (or a browser error's name), or the generic one; never the code itself. */
export function problemText(code: string | undefined, locale: ProblemLocale): string {
  const words = (code && Object.hasOwn(PROBLEM_MESSAGES, code) ? PROBLEM_MESSAGES[code as ProblemCode] : undefined) ?? (code && Object.hasOwn(BROWSER_MESSAGES, code) ? BROWSER_MESSAGES[code] : undefined) ?? GENERIC;
  return words[locale];
}

/** What a form field needs, by the field the server names (problem+json `errors[].field`). */
export const FIELD_HINTS = {
  externalRef: { en: 'Use letters, digits and _ . : / - only (at most 128).', 'zh-CN': '只能使用字母、数字及 _ . : / -（最多 128 个字符）。' },
  product: { en: 'Enter a product code (at most 64 characters).', 'zh-CN': '请填写产品代码（最多 64 个字符）。' },
  productName: { en: 'Enter the product name in at least one language (at most 100 characters).', 'zh-CN': '请至少用一种语言填写产品名称（最多 100 个字符）。' },
  amount: { en: 'Enter a positive amount with at most two decimals, such as 88000.00.', 'zh-CN': '请填写正数金额，最多两位小数，如 88000.00。' },
  currency: { en: 'Enter a three-letter currency code such as CNY.', 'zh-CN': '请填写三位货币代码，如 CNY。' },
  maturityDate: { en: 'Enter the date of the last repayment, not before today.', 'zh-CN': '请填写最后还款日，不得早于今天。' },
  termMonths: { en: 'Enter the term in whole months, 1 to 600.', 'zh-CN': '请填写期限（整月数，1–600）。' },
  apr: { en: 'Enter the annual rate in percent, below 100, such as 4.35.', 'zh-CN': '请填写年化利率（百分比，小于 100），如 4.35。' },
  instalmentAmount: { en: 'Enter a positive amount with at most two decimals.', 'zh-CN': '请填写正数金额，最多两位小数。' },
  dueDay: { en: 'Enter a day of the month, 1 to 31.', 'zh-CN': '请填写每月还款日（1–31）。' },
  repaymentMethod: { en: 'Choose a repayment method.', 'zh-CN': '请选择还款方式。' },
  lenderName: { en: 'Enter the lender’s name in both languages.', 'zh-CN': '请用中英文填写贷款机构名称。' },
  collateral: { en: 'Describe the collateral in both languages, or mark the loan unsecured.', 'zh-CN': '请用中英文描述担保物，或标明为无担保贷款。' },
  fees: { en: 'Each fee needs a name in both languages and a positive amount.', 'zh-CN': '每项费用需填写中英文名称和正数金额。' },
  fullName: { en: 'Enter the full name (at most 200 characters).', 'zh-CN': '请填写姓名（最多 200 个字符）。' },
  phoneE164: { en: 'Enter the phone number with its country code, such as +8613812345678.', 'zh-CN': '请填写带国家代码的手机号，如 +8613812345678。' },
  timeZone: { en: 'Choose a time zone such as Asia/Shanghai.', 'zh-CN': '请选择时区，如 Asia/Shanghai。' },
  idNumberLast4: { en: 'Enter the last four characters of the ID number (digits; the last may be X).', 'zh-CN': '请填写证件号码后四位（数字，最后一位可为 X）。' },
  role: { en: 'Choose the party’s role.', 'zh-CN': '请选择当事人角色。' },
  locale: { en: 'Choose the party’s language.', 'zh-CN': '请选择当事人语言。' },
  parties: { en: 'Add at least one borrower.', 'zh-CN': '请至少添加一位借款人。' },
} as const satisfies Record<string, Words>;

const INVALID_FIELD: Words = { en: 'This value is not valid.', 'zh-CN': '此项填写无效。' };

/**
 * The hint for a field path the server named ("terms.apr", "parties.0.phoneE164", "terms.fees.1.amount"):
 * the most specific known segment decides.
 */
export function fieldHint(path: string, locale: ProblemLocale): string {
  const segments = path.split('.').reverse();
  for (const segment of segments) if (Object.hasOwn(FIELD_HINTS, segment)) return FIELD_HINTS[segment as keyof typeof FIELD_HINTS][locale];
  return INVALID_FIELD[locale];
}

// Demo data for the local stack: one user per role and a few loan files. Idempotent: running it
// again changes nothing. Never run against production (it refuses).
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../server/config.js';
import { createDb, type Db } from '../server/db/client.js';
import { createUser, type NewUser } from '../server/users/users.service.js';
import { LoanFileService } from '../server/loan-files/loan-files.service.js';
import { DomainEvents } from '../server/events/domain-events.js';

export const DEMO_PASSWORD = 'facesign-demo';

export const DEMO_USERS: NewUser[] = [
  { email: 'admin@demo.facesign', displayName: '管理员 Admin', password: DEMO_PASSWORD, roles: ['ADMIN'], locale: 'en' },
  { email: 'supervisor@demo.facesign', displayName: '王主管 Supervisor', password: DEMO_PASSWORD, roles: ['SUPERVISOR'], locale: 'zh-CN' },
  { email: 'agent@demo.facesign', displayName: '李坐席 Agent', password: DEMO_PASSWORD, roles: ['AGENT'], locale: 'zh-CN', languages: ['zh-CN', 'en'], skills: ['consumer-loan', 'mortgage'] },
  { email: 'agent2@demo.facesign', displayName: 'Emma Agent', password: DEMO_PASSWORD, roles: ['AGENT'], locale: 'en', languages: ['en'], skills: ['consumer-loan'] },
  { email: 'auditor@demo.facesign', displayName: '赵审计 Auditor', password: DEMO_PASSWORD, roles: ['AUDITOR'], locale: 'zh-CN' },
];

const DEMO_LOAN_FILES = [
  {
    externalRef: 'DEMO-LOAN-0001',
    product: 'consumer-loan',
    amount: '50000.00',
    currency: 'CNY',
    terms: {
      termMonths: 12,
      apr: '4.35',
      fees: [{ name: { 'zh-CN': '账户管理费', en: 'account fee' }, amount: '20.00', period: 'MONTHLY' as const }],
      repaymentMethod: 'EQUAL_INSTALMENTS' as const,
      instalmentAmount: '4265.50',
      dueDay: 15,
      lenderName: { 'zh-CN': '示例银行', en: 'Example Bank' },
      collateral: null,
    },
    parties: [{ role: 'BORROWER' as const, fullName: '陈小红', phoneE164: '+8613800000001', timeZone: 'Asia/Shanghai', locale: 'zh-CN' as const, idNumberLast4: '4321' }],
  },
  {
    externalRef: 'DEMO-LOAN-0002',
    product: 'mortgage',
    amount: '1200000.00',
    currency: 'CNY',
    terms: {
      termMonths: 240,
      apr: '3.9',
      fees: [],
      repaymentMethod: 'EQUAL_INSTALMENTS' as const,
      instalmentAmount: '7208.69',
      dueDay: 20,
      lenderName: { 'zh-CN': '示例银行', en: 'Example Bank' },
      collateral: { 'zh-CN': '上海市浦东新区某小区住房一套（抵押）', en: 'a flat in Pudong, Shanghai, mortgaged to the lender' },
    },
    parties: [
      { role: 'BORROWER' as const, fullName: '周大伟', phoneE164: '+8613800000002', timeZone: 'Asia/Shanghai', locale: 'zh-CN' as const, idNumberLast4: '8765' },
      { role: 'GUARANTOR' as const, fullName: 'Olivia Brown', phoneE164: '+14155550100', timeZone: 'America/Los_Angeles', locale: 'en' as const },
    ],
  },
];

export async function seedDemo(db: Db): Promise<{ createdUsers: string[] }> {
  const createdUsers: string[] = [];
  for (const user of DEMO_USERS) {
    if (await db.user.findUnique({ where: { email: user.email } })) continue;
    await createUser(db, user);
    createdUsers.push(user.email);
  }
  // The retention rules only judge maturity changes, which the seed makes none of: the defaults do.
  const loanFiles = new LoanFileService({ db, retentionRules: loadConfig({}).recordings.retention, events: new DomainEvents() });
  const caller = { actor: { type: 'SYSTEM' as const, id: 'seed' }, requestId: 'seed', scope: 'seed', roles: [] };
  for (const lf of DEMO_LOAN_FILES) {
    // Demo databases seeded before loan files carried terms get them added.
    const existing = await db.loanFile.findUnique({ where: { externalRef: lf.externalRef }, select: { id: true, terms: true } });
    if (existing && existing.terms === null) await loanFiles.update(existing.id, { terms: lf.terms }, caller);
    else await loanFiles.create(lf, caller, undefined);
  }
  return { createdUsers };
}

export function printDemoLogins(log: (line: string) => void = console.log): void {
  log('Demo logins (password for all: ' + DEMO_PASSWORD + '):');
  for (const u of DEMO_USERS) log(`  ${u.roles.join(',').padEnd(11)} ${u.email}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfig();
  if (config.env === 'production') {
    console.error('Refusing to seed demo data into a production database.');
    process.exit(1);
  }
  const db = createDb({ url: config.database.url, poolSize: 2 });
  try {
    const { createdUsers } = await seedDemo(db);
    console.log(`Seeded ${createdUsers.length} new demo users and the demo loan files.`);
    printDemoLogins();
  } finally {
    await db.$disconnect();
  }
}

// The console's pages: path, who may open them (ADMIN opens all) and their navigation label.
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import type { Role } from './auth';
import type { shellMessages } from './messages';

type NavKey = keyof (typeof shellMessages)['en'];

export interface PageEntry {
  path: string;
  roles: readonly Role[];
  nav: NavKey;
  component: LazyExoticComponent<ComponentType<{ params: Record<string, string> }>>;
  /** Sub-paths handled by the same page (e.g. /review/:sessionId). */
  patterns?: string[];
}

export const PAGES: PageEntry[] = [
  { path: '/desk', roles: ['AGENT'], nav: 'navDesk', component: lazy(() => import('./desk/DeskPage')) },
  { path: '/supervisor', roles: ['SUPERVISOR'], nav: 'navSupervisor', component: lazy(() => import('./supervisor/SupervisorPage')) },
  { path: '/review', roles: ['AUDITOR', 'SUPERVISOR'], nav: 'navReview', component: lazy(() => import('./review/ReviewPage')), patterns: ['/review/:sessionId'] },
  { path: '/loan-files/new', roles: ['SUPERVISOR'], nav: 'navNewLoanFile', component: lazy(() => import('./loan-files/NewLoanFilePage')) },
  { path: '/dashboard', roles: ['SUPERVISOR', 'AUDITOR'], nav: 'navDashboard', component: lazy(() => import('./dashboard/DashboardPage')) },
];

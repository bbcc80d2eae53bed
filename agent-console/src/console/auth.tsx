// Who is signed in. The session cookie is HttpOnly; the page only learns the user from /api/auth/me.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError } from '../shared/api';

export type Role = 'AGENT' | 'SUPERVISOR' | 'AUDITOR' | 'ADMIN';

export interface User {
  id: string;
  email: string;
  displayName: string;
  roles: Role[];
  locale: string;
}

interface AuthState {
  user: User | null | undefined;
  signIn(email: string, password: string): Promise<User>;
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthState>({ user: undefined, signIn: () => Promise.reject(new Error('no auth')), signOut: async () => undefined });

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  useEffect(() => {
    api<User>('GET', '/api/auth/me')
      .then(setUser)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) setUser(null);
        else setUser(null);
      });
  }, []);
  const signIn = useCallback(async (email: string, password: string) => {
    const result = await api<{ user: User }>('POST', '/api/auth/login', { email, password });
    setUser(result.user);
    return result.user;
  }, []);
  const signOut = useCallback(async () => {
    await api('POST', '/api/auth/logout').catch(() => undefined);
    setUser(null);
  }, []);
  const value = useMemo(() => ({ user, signIn, signOut }), [user, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  return useContext(AuthContext);
}

export function hasRole(user: User | null | undefined, roles: readonly Role[]): boolean {
  return !!user && (user.roles.includes('ADMIN') || user.roles.some((r) => roles.includes(r)));
}

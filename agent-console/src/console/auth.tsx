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
  /** Reads who is signed in again (the server said the sign-in changed): the user, or null when signed out. */
  refresh(): Promise<User | null>;
}

const AuthContext = createContext<AuthState>({
  user: undefined,
  signIn: () => Promise.reject(new Error('no auth')),
  signOut: async () => undefined,
  refresh: async () => null,
});

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
  const refresh = useCallback(async () => {
    try {
      const fresh = await api<User>('GET', '/api/auth/me');
      setUser(fresh);
      return fresh;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
      setUser(null);
      return null;
    }
  }, []);
  const value = useMemo(() => ({ user, signIn, signOut, refresh }), [user, signIn, signOut, refresh]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  return useContext(AuthContext);
}

export function hasRole(user: User | null | undefined, roles: readonly Role[]): boolean {
  return !!user && (user.roles.includes('ADMIN') || user.roles.some((r) => roles.includes(r)));
}

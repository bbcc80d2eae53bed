// Who is signed in. The session cookie is HttpOnly; the page only learns the user from /api/auth/me.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, call, client, type Schemas } from '../shared/api';

export type User = Schemas['User'];
export type Role = User['roles'][number];

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
    call(client.GET('/api/auth/me'))
      .then(setUser)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) setUser(null);
        else setUser(null);
      });
  }, []);
  const signIn = useCallback(async (email: string, password: string) => {
    const result = await call(client.POST('/api/auth/login', { body: { email, password } }));
    setUser(result.user);
    return result.user;
  }, []);
  const signOut = useCallback(async () => {
    await call(client.POST('/api/auth/logout')).catch(() => undefined);
    setUser(null);
  }, []);
  const refresh = useCallback(async () => {
    try {
      const fresh = await call(client.GET('/api/auth/me'));
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

// Large-text mode (适老化 大字模式): chosen once, remembered on this device, applied to the whole page;
// parts that draw their own text (the contract) read it from context to size themselves.
import { createContext, useCallback, useContext, useEffect, useState } from 'react';

const LARGE_TEXT_KEY = 'facesign.largeText';

export const LargeTextContext = createContext(false);

/** Whether the borrower asked for large text. */
export const useLargeTextOn = () => useContext(LargeTextContext);

export function useLargeText(): [boolean, (on: boolean) => void] {
  const [large, setLarge] = useState(() => {
    try {
      return localStorage.getItem(LARGE_TEXT_KEY) === 'on';
    } catch {
      return false;
    }
  });
  useEffect(() => {
    document.documentElement.classList.toggle('large-text', large);
  }, [large]);
  const choose = useCallback((on: boolean) => {
    setLarge(on);
    try {
      localStorage.setItem(LARGE_TEXT_KEY, on ? 'on' : 'off');
    } catch {
      // not remembered, still applied
    }
  }, []);
  return [large, choose];
}

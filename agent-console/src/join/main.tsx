import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import { JoinApp } from './JoinApp';

// JoinApp holds its own LocaleProvider: the page opens in the language of the link.
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <JoinApp />
  </StrictMode>,
);

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const envRule = {
  'no-restricted-properties': ['error', {
    object: 'process', property: 'env',
    message: 'Only server/config.ts reads process.env: take configuration as an argument.',
  }],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'server/db/generated/**', 'agent-console/dist/**', 'agent-console/src/shared/api-schema.d.ts', 'prisma/engine/**', '.tmp/**', '.cache/**', 'test-artifacts/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  { files: ['server/**/*.ts', 'recordings/**/*.ts'], ignores: ['server/config.ts'], rules: envRule },
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } } },
);

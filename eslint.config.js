import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The layers' import boundaries (docs/architecture.md): what a folder of src/ may not import. */
const forbid = (folder, layers, why) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./)+(${layers.join('|')})(/|$)`, message: `${folder}/ must not import ${why}` }] }],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', '.lab/', '.demo/', 'examples/site/', 'src/manifest/schema-validator.generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  forbid('core', ['[^/]+'], 'anything outside core/: it is the leaf every layer shares'),
  forbid('plan', ['remote', 'run', 'cli'], 'remote/, run/ or cli/: planning is pure; run/ reads the snapshots and hands them in'),
  forbid('budget', ['plan', 'run', 'cli'], 'plan/, run/ or cli/: the budget is pure; the shapes it shares with plan/ live in core/'),
  forbid('remote', ['plan', 'run', 'cli'], 'plan/, run/ or cli/: remote access knows nothing of plans or runs'),
  forbid('local', ['remote', 'plan', 'run', 'cli'], 'remote/, plan/, run/ or cli/: the local walk knows only the local tree'),
  forbid('manifest', ['remote', 'plan', 'budget', 'run', 'cli'], 'remote/, plan/, budget/, run/ or cli/: loading a manifest opens no connection'),
  forbid('probe', ['run', 'cli'], 'run/ or cli/: probe measures through remote/ and reports to cli/'),
  {
    // Only an entry point ends the process; everything else throws (FtpsyncError) or sets process.exitCode.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/main.ts', 'src/demo/main.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'exit',
          message: 'Throw an FtpsyncError or set process.exitCode: only an entry point (cli/main.ts, demo/main.ts) exits.',
        },
      ],
    },
  },
);

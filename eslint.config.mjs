// Lints the APPSYNC_JS resolvers with AWS's own rules for that runtime: no try/catch, throw,
// classes, async, while or for(;;), regex literals, ++/--, `in`, recursion, and only the
// built-in methods the runtime implements. The type-aware rules get their TypeScript program
// from components/resolvers/tsconfig.json through typescript-eslint's project service.
import appsync from '@aws-appsync/eslint-plugin';

const { recommended } = appsync.configs;

export default [
    {
        ...recommended,
        files: ['components/resolvers/*.js'],
        languageOptions: {
            ...recommended.languageOptions,
            sourceType: 'module',
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
    },
];

/** The version `--version` prints (kept equal to package.json's by test/cli-startup.test.ts). */
export const VERSION = '0.1.0';

// Preloaded with `node --import` to record every module a command resolves (written on exit to $DEEPPLAN_IMPORTS_OUT).
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const seen = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    seen.add(result.url);
    return result;
  },
});
process.on('exit', () => {
  if (process.env.DEEPPLAN_IMPORTS_OUT) writeFileSync(process.env.DEEPPLAN_IMPORTS_OUT, [...seen].join('\n'));
});

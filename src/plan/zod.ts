// The schemas that reading a plan needs (the front matter, deepplan.config.yaml, SKILL.md, the calibration index) are
// written with zod's functional build, zod/mini, imported as `import * as z from 'zod/mini'` in each file so the
// bundler keeps only the functions used (a re-exported namespace would keep all of zod, its 64 locales included).
// zod/mini carries no error messages of its own: importing this module sets the English ones of the full build, once,
// so a message reads the same whichever build made the schema. Commands that talk to models use the full build.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

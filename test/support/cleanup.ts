// Runs in every test file (vitest.config.ts setupFiles): the repositories its tests made (makeRepo) are removed once
// its last test is done, so that a run of the suite does not leave hundreds of folders in the temporary folder.
import { afterAll } from 'vitest';
import { removeRepos } from './fixtures.js';

afterAll(() => removeRepos());

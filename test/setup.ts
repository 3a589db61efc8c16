// Keeps handler logs out of the test report unless a test fails loudly on its own.
import { vi } from 'vitest';

vi.spyOn(console, 'info').mockImplementation(() => undefined);
vi.spyOn(console, 'warn').mockImplementation(() => undefined);

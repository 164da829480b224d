import { afterEach, describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/backend/native/index.js';
import { initBackend } from '../../src/backend/select.js';

const saved = { backend: process.env.CHAINRULE_BACKEND, native: process.env.CHAINRULE_NATIVE };

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

afterEach(() => {
  restore('CHAINRULE_BACKEND', saved.backend);
  restore('CHAINRULE_NATIVE', saved.native);
});

describe('initBackend', () => {
  it('returns the backend asked for', async () => {
    expect((await initBackend('reference')).name).toBe('reference');
    expect((await initBackend('wasm')).name).toMatch(/^wasm/);
  });

  it('prefers native, then wasm, when left to choose', async () => {
    delete process.env.CHAINRULE_BACKEND;
    delete process.env.CHAINRULE_NATIVE;
    const name = (await initBackend()).name;
    expect(name).toMatch(loadAddon() ? /^native/ : /^wasm/);
  });

  it('honours CHAINRULE_BACKEND and CHAINRULE_NATIVE=0', async () => {
    process.env.CHAINRULE_BACKEND = 'reference';
    expect((await initBackend()).name).toBe('reference');
    process.env.CHAINRULE_BACKEND = 'wasm';
    expect((await initBackend()).name).toMatch(/^wasm/);
    process.env.CHAINRULE_BACKEND = 'native';
    process.env.CHAINRULE_NATIVE = '0';
    expect((await initBackend()).name).toMatch(/^wasm/);
  });

  it('an explicit choice wins over the environment', async () => {
    process.env.CHAINRULE_BACKEND = 'wasm';
    expect((await initBackend('reference')).name).toBe('reference');
  });
});

/** Choosing and activating the backend a run uses; never a silent fallback. */
import tf from '@regimes/numerics/tfjs';
import type { Availability, Backend, BackendFactory } from '../contracts/contracts.js';
import { BackendUnavailable, RegimesError } from '../contracts/errors.js';
import type { Registry } from './registry.js';

export interface BackendReport {
  readonly kind: string;
  readonly description: string;
  readonly priority: number;
  readonly availability: Availability;
}

/** Probe every registered backend, highest priority first. */
export async function probeBackends(registry: Registry): Promise<BackendReport[]> {
  const factories = [...registry.all('backend')].sort((a, b) => b.priority - a.priority);
  return Promise.all(
    factories.map(async (f) => ({
      kind: f.kind,
      description: f.description,
      priority: f.priority,
      availability: await safeProbe(f.create(f.options.parse({}))),
    })),
  );
}

async function safeProbe(backend: Backend): Promise<Availability> {
  try {
    return await backend.probe();
  } catch (error) {
    return { available: false, reason: `probe failed: ${(error as Error).message}` };
  }
}

/**
 * The backend named (spec, flag or REGIMES_BACKEND), or the highest-priority available one.
 * A named backend that is unavailable is an error that says why.
 */
export async function activateBackend(
  registry: Registry,
  name?: string,
  /** Where `name` came from, for the hint of an unknown one: `REGIMES_BACKEND` when the environment. */
  source?: 'REGIMES_BACKEND',
): Promise<{ kind: string; backend: Backend }> {
  let chosen: BackendFactory | undefined;
  let backend: Backend | undefined;
  if (name) {
    try {
      chosen = registry.get('backend', name);
    } catch (error) {
      // a name from the environment is not in the spec or the command: say where it comes from
      if (error instanceof RegimesError && source === 'REGIMES_BACKEND')
        throw new RegimesError(error.message, {
          hint: `REGIMES_BACKEND is set to '${name}' in the environment: set it to a registered backend or unset it (or pass --backend)`,
        });
      throw error;
    }
    backend = chosen.create(chosen.options.parse({}));
    const availability = await safeProbe(backend);
    if (!availability.available) {
      throw new BackendUnavailable(
        `backend '${name}' is not available here: ${availability.reason ?? 'no reason given'}`,
        {
          hint: "run 'regimes backends' to see what is available, or choose another with --backend (RunOptions.backend in code)",
        },
      );
    }
  } else {
    const reports: string[] = [];
    for (const f of [...registry.all('backend')].sort((a, b) => b.priority - a.priority)) {
      const candidate = f.create(f.options.parse({}));
      const availability = await safeProbe(candidate);
      if (availability.available && !availability.fallback) {
        chosen = f;
        backend = candidate;
        break;
      }
      reports.push(
        `${f.kind}: ${availability.fallback ? `only a software fallback (${availability.device})` : (availability.reason ?? 'unavailable')}`,
      );
    }
    if (!chosen || !backend) {
      throw new BackendUnavailable(
        `no backend is available${reports.length ? ` (${reports.join('; ')})` : ' (no backend plugin is loaded)'}`,
        { hint: 'load @regimes/backend-node, which provides the always-available cpu backend' },
      );
    }
  }
  await backend.activate();
  if (tf.getBackend() !== backend.name) {
    throw new BackendUnavailable(`backend '${chosen.kind}' activated, but tfjs runs on '${tf.getBackend()}'`);
  }
  return { kind: chosen.kind, backend };
}

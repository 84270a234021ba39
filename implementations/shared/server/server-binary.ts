/**
 * Finds a server's executable: the environment variable that names it, else the PATH, else the
 * sbin folders Debian installs daemons into (nats-server lands in /usr/sbin, which is not on an
 * ordinary user's PATH).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import type { Availability } from '../../contract.js';
import { ServerStartError } from './server-process.js';

/** A server a backend starts, and the client package it talks to it through. */
export interface ServerSoftware {
  /** The executable's name, e.g. `nats-server`. */
  readonly binary: string;
  /** The environment variable that names another executable, e.g. `NANOMQ_NATS_SERVER`. */
  readonly envVariable: string;
  /** How to install the server, for the reason a backend is unavailable. */
  readonly install: string;
  /** The npm package of the client, and how to install it. */
  readonly clientPackage: string;
  readonly clientInstall: string;
}

/** Whether the client package and the server are here; the reason and the install command when not. */
export function serverAvailability(software: ServerSoftware): Availability {
  try {
    createRequire(import.meta.url).resolve(software.clientPackage);
  } catch {
    return { available: false, reason: `the ${software.clientPackage} client package is missing: ${software.clientInstall}` };
  }
  if (findServerBinary(software.binary, software.envVariable) === undefined) {
    return {
      available: false,
      reason: `${software.binary} is not installed (it is needed to start a server; or name one under servers:): ${software.install}`,
    };
  }
  return { available: true };
}

/** The server's executable, or a ServerStartError saying how to install it. */
export function requireServerBinary(software: ServerSoftware): string {
  const binary = findServerBinary(software.binary, software.envVariable);
  if (binary === undefined) throw new ServerStartError(`${software.binary} is not installed: ${software.install}`);
  return binary;
}

const EXTRA_FOLDERS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

export function findServerBinary(name: string, envVariable: string): string | undefined {
  const named = process.env[envVariable];
  // A variable that names something not runnable means "not installed", not "look elsewhere".
  if (named) return executable(named) ? named : undefined;
  const folders = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_FOLDERS];
  return folders.map((folder) => join(folder, name)).find(executable);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first line `binary --version` prints, or undefined when it cannot be run. */
export function serverVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]
      ?.trim();
  } catch {
    return undefined;
  }
}

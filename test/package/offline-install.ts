/**
 * The package.json and package-lock.json of an app that installs the packed library with
 * `npm ci --offline`, from the npm cache the project's own `npm ci` filled.
 *
 * `npm install --offline <tarball> aws-cdk-lib@<version>` does not work from that cache: npm 11 resolves a
 * version through the registry's full package document, and `npm ci` caches only the abbreviated one
 * (and the tarballs). With a lockfile nothing is resolved: each dependency is fetched by its integrity,
 * which the cache holds. So the app's lockfile takes the project's own entries for aws-cdk-lib, constructs
 * and everything they depend on, and the packed tarball by path and integrity.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './assembly';

interface LockEntry {
  readonly version?: string;
  /** Inside its bundler's tarball: npm fetches nothing for it. */
  readonly inBundle?: boolean;
  readonly bundleDependencies?: readonly string[];
  readonly dependencies?: { readonly [name: string]: string };
  readonly optionalDependencies?: { readonly [name: string]: string };
  readonly [field: string]: unknown;
}

/**
 * Where node finds `name` from the package at `from` (a lockfile location such as `node_modules/a`).
 * A dependency the package does not bundle is never inside a bundle: a lockfile may list a bundled copy
 * that the tarball does not hold (aws-cdk-lib 2.270.0's @aws-cdk/cloud-assembly-schema).
 */
function locate(packages: { [location: string]: LockEntry }, from: string, name: string, bundled: boolean): string {
  let base = from;
  for (;;) {
    const location = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[location] && (bundled || !packages[location].inBundle)) return location;
    if (!base) throw new Error(`${name}, a dependency of ${from || 'the project'}, is not in package-lock.json`);
    const parent = base.lastIndexOf('/node_modules/');
    base = parent === -1 ? '' : base.slice(0, parent);
  }
}

/** The project's lockfile entries of these packages and of everything they depend on, at the same places. */
function lockedClosure(names: readonly string[]): { [location: string]: LockEntry } {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const packages: { [location: string]: LockEntry } = lock.packages;
  const closure: { [location: string]: LockEntry } = {};
  const queue = names.map((name) => locate(packages, '', name, false));
  while (queue.length > 0) {
    const location = queue.shift()!;
    if (closure[location]) continue;
    // In the app they are production dependencies, not the project's dev ones.
    const { dev: _dev, devOptional: _devOptional, ...entry } = packages[location] as LockEntry & { dev?: boolean; devOptional?: boolean };
    closure[location] = entry;
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const bundled = entry.inBundle === true || (entry.bundleDependencies ?? []).includes(name);
      queue.push(locate(packages, location, name, bundled));
    }
  }
  return closure;
}

export interface OfflineApp {
  readonly packageJson: object;
  readonly lockfile: object;
}

/**
 * An app depending on the packed library and on the versions of its peers the project is tested with
 * (its exact devDependencies, which the project's lockfile holds).
 */
export function offlineApp(appName: string, tarballPath: string): OfflineApp {
  const library = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const peers: { [name: string]: string } = {};
  for (const name of Object.keys(library.peerDependencies)) peers[name] = library.devDependencies[name];
  const locked = lockedClosure(Object.keys(peers));
  for (const [name, version] of Object.entries(peers)) {
    const lockedVersion = locked[`node_modules/${name}`].version;
    if (lockedVersion !== version)
      throw new Error(`package-lock.json has ${name} ${lockedVersion}, package.json ${version}: run npm install`);
  }

  const dependencies = { ...peers, [library.name]: `file:${tarballPath}` };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarballPath)).digest('base64')}`;
  return {
    packageJson: { name: appName, private: true, dependencies },
    lockfile: {
      name: appName,
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: appName, dependencies },
        ...locked,
        [`node_modules/${library.name}`]: {
          version: library.version,
          resolved: `file:${tarballPath}`,
          integrity,
          license: library.license,
          peerDependencies: library.peerDependencies,
        },
      },
    },
  };
}

/** The versions of the peers (and of cdk-nag) an app installed from the registry depends on. */
export interface RegistryVersions {
  readonly awsCdkLib: string;
  readonly constructs: string;
  /** The app also depends on cdk-nag, at this version. */
  readonly cdkNag?: string;
}

/**
 * The package.json of an app that installs the packed library and the given aws-cdk-lib (any published
 * version, not only the project's) from the npm registry, online, as a user's `npm install` would: npm
 * resolves the library's peer range against it, so a version outside the range is an ERESOLVE here too.
 */
export function registryApp(appName: string, tarballPath: string, versions: RegistryVersions): object {
  const library = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return {
    name: appName,
    private: true,
    dependencies: {
      'aws-cdk-lib': versions.awsCdkLib,
      'constructs': versions.constructs,
      ...(versions.cdkNag ? { 'cdk-nag': versions.cdkNag } : {}),
      [library.name]: `file:${tarballPath}`,
    },
  };
}

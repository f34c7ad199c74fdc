/**
 * JSON schemas for kubeconform, made offline from pinned Go modules: the Kubernetes API's
 * OpenAPI (`api/openapi-spec/swagger.json` of k8s.io/kubernetes), KEDA's CRDs
 * (`config/crd/bases` of github.com/kedacore/keda/v2) and the Gateway API's standard ones
 * (`config/crd/standard` of sigs.k8s.io/gateway-api). `go mod download` fetches them through the
 * Go module proxy (nothing else is reachable here); the schemas are written once per machine into
 * a cache folder, in the layout kubeconform's `-schema-location` templates name:
 *
 *   kubernetes/<kind>-<group>-<version>.json  (a $ref into _definitions.json beside it)
 *   crds/<group>/<kind>_<version>.json
 *
 * Strict, as kubectl validates: an object with `properties` admits no others (unless it says
 * otherwise), so a misspelt or misplaced key fails. IntOrString and Quantity accept what the API
 * server accepts (a string, or a number; a quantity's string in the API server's own syntax).
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { buildCacheDir, findOnPath, GoBuildError } from '../go-build';

const execFileAsync = promisify(execFile);

/** The Kubernetes release whose API the manifests are validated against. */
export const KUBERNETES_VERSION = 'v1.37.2';
/** The KEDA release whose CRDs (ScaledObject, TriggerAuthentication) the chart targets. */
export const KEDA_VERSION = 'v2.21.0';
/** The Gateway API release whose standard CRDs (HTTPRoute) the chart's optional route targets. */
export const GATEWAY_API_VERSION = 'v1.6.3';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The module's source folder in Go's module cache, downloading it when absent. */
async function goModuleDir(module: string, version: string): Promise<string> {
  const go = findOnPath('go', process.env) ?? '/usr/local/go/bin/go';
  if (!existsSync(go)) {
    throw new GoBuildError(
      `Go is needed to download ${module}@${version} (the schemas come from Go modules); install Go 1.26 or newer`,
    );
  }
  try {
    // Outside any module, so the project's own go.mod (there is none) cannot interfere.
    const { stdout } = await execFileAsync(
      go,
      ['mod', 'download', '-json', `${module}@${version}`],
      {
        cwd: tmpdir(),
        env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const { Dir, Error: error } = JSON.parse(stdout) as { Dir?: string; Error?: string };
    if (!Dir) throw new Error(error ?? 'no folder');
    return Dir;
  } catch (err) {
    throw new GoBuildError(
      `go mod download ${module}@${version} failed: ${(err as Error).message.slice(0, 2000)}`,
    );
  }
}

/** Applies `visit` to every object in `value`, deepest first. */
function mapObjects(value: Json, visit: (object: JsonObject) => Json): Json {
  if (Array.isArray(value)) return value.map((item) => mapObjects(item, visit));
  if (!isObject(value)) return value;
  const mapped: JsonObject = {};
  for (const [key, item] of Object.entries(value)) mapped[key] = mapObjects(item, visit);
  return visit(mapped);
}

/** kubectl's strictness: an object that lists its properties admits no others. */
function strict(object: JsonObject): JsonObject {
  if (
    isObject(object.properties) &&
    !('additionalProperties' in object) &&
    object['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    return { ...object, additionalProperties: false };
  }
  return object;
}

const STRING_OR_INTEGER: JsonObject = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
/** A resource quantity as the API server parses it (resource.Quantity): `250m`, `1.5Gi`, `2`. */
const QUANTITY: JsonObject = {
  oneOf: [
    {
      type: 'string',
      pattern:
        '^[+-]?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
    },
    { type: 'number' },
  ],
};

/** The Kubernetes API: one definitions file, and a file per kind that refers into it. */
function writeKubernetes(specDir: string, out: string): number {
  const swagger = JSON.parse(readFileSync(join(specDir, 'swagger.json'), 'utf8')) as {
    definitions: Record<string, JsonObject>;
  };
  const definitions: JsonObject = {};
  for (const [name, definition] of Object.entries(swagger.definitions)) {
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
      definitions[name] = QUANTITY;
      continue;
    }
    definitions[name] = mapObjects(definition, (object) => {
      // Its $refs ('#/definitions/…') stay as they are: the same paths in _definitions.json.
      if (object.format === 'int-or-string') return STRING_OR_INTEGER;
      return strict(object);
    });
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, '_definitions.json'), JSON.stringify({ definitions }));
  let kinds = 0;
  for (const [name, definition] of Object.entries(swagger.definitions)) {
    const gvks = definition['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    for (const gvk of gvks) {
      if (!isObject(gvk)) continue;
      const { group, version, kind } = gvk as { group: string; version: string; kind: string };
      const suffix = group ? `-${group.split('.')[0]!.toLowerCase()}-${version}` : `-${version}`;
      writeFileSync(
        join(out, `${kind.toLowerCase()}${suffix}.json`),
        JSON.stringify({ $ref: `_definitions.json#/definitions/${name}` }),
      );
      kinds += 1;
    }
  }
  return kinds;
}

/** CRDs: a file per served version of each kind, its openAPIV3Schema made strict. */
function writeCrds(crdDir: string, out: string): number {
  let written = 0;
  for (const file of readdirSync(crdDir).filter((name) => name.endsWith('.yaml'))) {
    for (const document of parseAllDocuments(readFileSync(join(crdDir, file), 'utf8'))) {
      const crd = document.toJSON() as JsonObject | null;
      if (!crd || crd.kind !== 'CustomResourceDefinition' || !isObject(crd.spec)) continue;
      const { group, names, versions } = crd.spec as {
        group: string;
        names: { kind: string };
        versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: JsonObject } }[];
      };
      for (const version of versions) {
        const schema = version.schema?.openAPIV3Schema;
        if (!version.served || !schema) continue;
        mkdirSync(join(out, group), { recursive: true });
        writeFileSync(
          join(out, group, `${names.kind.toLowerCase()}_${version.name}.json`),
          JSON.stringify(mapObjects(schema, strict)),
        );
        written += 1;
      }
    }
  }
  return written;
}

export interface Schemas {
  /** For kubeconform's `-schema-location`, one each. */
  locations: string[];
  /** How many kinds each source gave, for the line that says what was validated. */
  kubernetesKinds: number;
  crdKinds: number;
}

/** The schemas' cache folder, written first when absent (atomically: a rename). */
export async function ensureSchemas(say: (line: string) => void): Promise<Schemas> {
  const dir = buildCacheDir(
    `kubeconform-schemas/kubernetes-${KUBERNETES_VERSION}-keda-${KEDA_VERSION}-gateway-${GATEWAY_API_VERSION}`,
  );
  const counts = join(dir, 'counts.json');
  if (!existsSync(counts)) {
    say(
      `Making JSON schemas from Kubernetes ${KUBERNETES_VERSION}'s OpenAPI, KEDA ${KEDA_VERSION}'s and the Gateway API ${GATEWAY_API_VERSION}'s CRDs (Go modules, once per machine)…`,
    );
    const kubernetes = await goModuleDir('k8s.io/kubernetes', KUBERNETES_VERSION);
    const keda = await goModuleDir('github.com/kedacore/keda/v2', KEDA_VERSION);
    mkdirSync(join(dir, '..'), { recursive: true });
    const staging = `${dir}.${process.pid}`;
    const kubernetesKinds = writeKubernetes(
      join(kubernetes, 'api', 'openapi-spec'),
      join(staging, 'kubernetes'),
    );
    const gateway = await goModuleDir('sigs.k8s.io/gateway-api', GATEWAY_API_VERSION);
    const crdKinds =
      writeCrds(join(keda, 'config', 'crd', 'bases'), join(staging, 'crds')) +
      writeCrds(join(gateway, 'config', 'crd', 'standard'), join(staging, 'crds'));
    writeFileSync(join(staging, 'counts.json'), JSON.stringify({ kubernetesKinds, crdKinds }));
    try {
      renameSync(staging, dir);
    } catch (err) {
      // Another process wrote them first: theirs are the same.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(counts)) throw err;
    }
  }
  const { kubernetesKinds, crdKinds } = JSON.parse(readFileSync(counts, 'utf8')) as {
    kubernetesKinds: number;
    crdKinds: number;
  };
  return {
    locations: [
      join(dir, 'kubernetes', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
      join(dir, 'crds', '{{ .Group }}', '{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'),
    ],
    kubernetesKinds,
    crdKinds,
  };
}

/**
 * The spec's JSON Schema, generated from the zod schemas (one source of truth): the spec's own
 * shape, and — given a registry — every registered kind's options, so that an editor completes
 * and checks `learners: - kind: rf` entries too.
 */
import {
  type ExtensionPoint,
  type KindFactory,
  type Registry,
  SpecSchema,
  SweepSchema,
  z,
} from '@regimes/core';

type JsonSchema = Record<string, unknown>;

const toJson = (schema: z.ZodType): JsonSchema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
};

/** For a kind entry: `kind` from a list, and per kind (if/then) its options and nothing else. */
function kindEntry(
  factories: readonly KindFactory[],
  extra: Record<string, JsonSchema>,
  title: string,
): JsonSchema {
  return {
    type: 'object',
    title,
    required: ['kind'],
    properties: {
      kind: { type: 'string', enum: factories.map((f) => f.kind).sort() },
      ...extra,
    },
    allOf: factories.map((f) => {
      const options = toJson(f.options);
      const properties = (options.properties as Record<string, JsonSchema> | undefined) ?? {};
      return {
        if: { properties: { kind: { const: f.kind } }, required: ['kind'] },
        then: {
          description: f.description,
          properties: { kind: { const: f.kind }, ...extra, ...properties },
          additionalProperties: false,
        },
      };
    }),
  };
}

/** The JSON Schema of a spec file; with a registry, each kind's options are spelled out. */
export function specJsonSchema(registry?: Registry): JsonSchema {
  const base = toJson(SpecSchema);
  const sweep = { $ref: '#/$defs/sweep' };
  const properties: Record<string, JsonSchema> = {
    ...(base.properties as Record<string, JsonSchema>),
    sweep,
  };
  const schema: JsonSchema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'regimes experiment spec',
    description: 'An experiment: a target, learners, metrics and a sweep. See docs/spec.md.',
    ...base,
    properties,
    // root keys named x-… hold what the spec reuses by YAML anchor (`x-base: &base { kind: rf }`);
    // regimes drops them before it reads the spec, so they may hold anything
    patternProperties: {
      '^x-': { description: 'reused by YAML anchor elsewhere in the spec; ignored by regimes' },
    },
    $defs: { sweep: toJson(SweepSchema) },
  };
  if (!registry) return schema;
  const all = (point: ExtensionPoint) => [...registry.all(point)] as KindFactory[];
  properties.target = kindEntry(all('target'), {}, 'target');
  properties.learners = {
    type: 'array',
    minItems: 1,
    items: kindEntry(
      all('learner'),
      {
        id: {
          type: 'string',
          pattern: '^[^|,=()]+$',
          description: 'names the learner in rows and sweep keys',
        },
        sweep: { ...sweep, description: "this learner's own grid over its options" },
        timeout: {
          anyOf: [
            { type: 'number', exclusiveMinimum: 0 },
            { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?([eE][+-]?\\d+)?\\s*(ms|s|m|h|d)?\\s*$' },
          ],
          description: 'time budget of each fit: seconds, or 500ms, 30s, 10m, 2h, 1d',
        },
      },
      'learner',
    ),
  };
  const metric = kindEntry(all('metric'), {}, 'metric');
  properties.metrics = {
    type: 'array',
    items: {
      anyOf: [
        {
          type: 'string',
          enum: all('metric')
            .map((f) => f.kind)
            .sort(),
        },
        metric,
      ],
    },
  };
  properties.backend = {
    type: 'string',
    enum: all('backend')
      .map((f) => f.kind)
      .sort(),
  };
  return { ...schema, properties };
}

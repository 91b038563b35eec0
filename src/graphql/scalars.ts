import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../generated/graphql.js';

/**
 * graphql-scalars' DateTime, serialized to its ISO-8601 string here: its own serialize returns the
 * Date itself, and JSON.stringify then calls Date#toJSON once per value, which is slower (~1 % of a
 * small query). Parsing and validation stay graphql-scalars'.
 */
const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  serialize: (value) => (DateTimeResolver.serialize(value) as Date).toISOString(),
});

export const scalarResolvers: Resolvers = {
  DateTime,
  JSON: JSONResolver,
};

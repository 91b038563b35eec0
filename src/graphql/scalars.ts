import { GraphQLError, GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../generated/graphql.js';

/**
 * graphql-scalars' DateTime, serialized to its ISO-8601 string here: its own serialize returns the
 * Date itself, and JSON.stringify then calls Date#toJSON once per value, which is slower (~1 % of a
 * small query). A valid Date, what Prisma hands over, is formatted at once; anything else goes through
 * graphql-scalars' checks, as do parsing and validation.
 */
const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  serialize: (value) => {
    const date = isValidDate(value) ? value : DateTimeResolver.serialize(value);
    if (!isValidDate(date)) throw new GraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
});

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

export const scalarResolvers: Resolvers = {
  DateTime,
  JSON: JSONResolver,
};

/** Exact numbers in GraphQL: served as strings so that no client rounds them. */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description:
    'An exact number (a count beyond 2^53 or a DECIMAL sum), serialized as a JSON string such as "12345678901234567890.12" so that no client rounds it.',
  serialize(value) {
    if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'string') return String(value);
    throw new GraphQLError(`Decimal cannot represent ${String(value)}`);
  },
  parseValue(value) {
    if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw new GraphQLError('a Decimal is a string of digits, such as "12.50"');
  },
  parseLiteral(ast) {
    if ((ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT) && /^-?\d+(\.\d+)?$/.test(ast.value)) return ast.value;
    throw new GraphQLError('a Decimal is a string of digits, such as "12.50"');
  },
});

/** A row of the generic query: column name → exact value (Decimal values as strings). */
export const RowScalar = new GraphQLScalarType({
  name: 'Row',
  description: 'One result row as a JSON object keyed by column name; big integers and DECIMALs are strings, as in Decimal.',
  serialize(value) {
    if (!value || typeof value !== 'object') throw new GraphQLError('a Row is an object');
    const row = value as Record<string, unknown>;
    // Copied only when a value needs it: exactAsText has already made the exact metrics text, so
    // most rows go out as they are (a copy per row costs more than the answer's own encoding).
    for (const k in row) {
      if (typeof row[k] === 'bigint') return Object.fromEntries(Object.entries(row).map(([name, v]) => [name, typeof v === 'bigint' ? v.toString() : v]));
    }
    return row;
  },
  parseValue() {
    throw new GraphQLError('Row is an output type');
  },
  parseLiteral() {
    throw new GraphQLError('Row is an output type');
  },
});

/** GraphQL naming: definitions are lower_snake_case, GraphQL fields camelCase and types PascalCase. */
export const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const pascal = (s: string): string => camel(s).replace(/^[a-z]/, (c) => c.toUpperCase());
export const enumName = (s: string): string => s.toUpperCase();

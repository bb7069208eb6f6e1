/**
 * Packages that ship ES modules only, which Jest's own module loader cannot require (Node 20 can):
 * compiled like the tests. light-my-request (Fastify's inject) needs cookie 2, @fastify/static
 * (Swagger UI's files) needs content-disposition 1.
 */
const ESM_ONLY = ['cookie', 'content-disposition'];

module.exports = {
  transform: { '^.+\\.ts$': ['@swc/jest'], [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: ['@swc/jest'] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};

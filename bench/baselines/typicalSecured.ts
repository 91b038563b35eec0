// Baseline: the typical secured stack — Apollo 5 on Express 5 plus a jose JWT check per request
// (raw secret, no cache), graphql-shield (an isAuthenticated rule), graphql-rate-limit-directive
// and graphql-depth-limit, written the way their READMEs show.
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import depthLimit from 'graphql-depth-limit';
import { applyMiddleware } from 'graphql-middleware';
import { rateLimitDirective } from 'graphql-rate-limit-directive';
import { allow, rule, shield } from 'graphql-shield';
import { jwtVerify } from 'jose';
import { announce, BASELINE_JWT_SECRET, constantResolvers, portArgument, typeDefs } from './common.js';

const port = portArgument();
const secret = new TextEncoder().encode(BASELINE_JWT_SECRET);
const { rateLimitDirectiveTransformer } = rateLimitDirective({
  keyGenerator: (_args, _source, _fieldArgs, ctx: { user?: { sub?: string } }) => ctx.user?.sub ?? 'anonymous',
});
const isAuthenticated = rule()((_parent, _args, ctx: { user?: unknown }) => Boolean(ctx.user));
const permissions = shield({ Query: { me: isAuthenticated }, User: allow }, { fallbackRule: allow });

// A limit on every Query field, high enough never to refuse during the run.
const limited = [typeDefs, 'extend type Query @rateLimit(limit: 100000000, duration: 60)'];
let schema = makeExecutableSchema({ typeDefs: limited, resolvers: constantResolvers });
schema = applyMiddleware(schema, permissions);
schema = rateLimitDirectiveTransformer(schema);

const apollo = new ApolloServer({ schema, validationRules: [depthLimit(10)] });
await apollo.start();
const app = express();
app.use(
  '/graphql',
  express.json(),
  expressMiddleware(apollo, {
    context: async ({ req }) => {
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      if (!token) return {};
      const { payload } = await jwtVerify(token, secret);
      return { user: payload };
    },
  }),
);
app.listen(port, '127.0.0.1', () => announce(port));

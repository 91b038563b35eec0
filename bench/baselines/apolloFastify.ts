// Baseline: Apollo Server 5 on Fastify 5, same SDL, no security (the fastest stock Apollo).
import { ApolloServer } from '@apollo/server';
import fastifyApollo from '@as-integrations/fastify';
import Fastify from 'fastify';
import { announce, constantResolvers, portArgument, typeDefs } from './common.js';

const port = portArgument();
const app = Fastify();
const apollo = new ApolloServer({ typeDefs, resolvers: constantResolvers });
await apollo.start();
await app.register(fastifyApollo(apollo));
await app.listen({ port, host: '127.0.0.1' });
announce(port);

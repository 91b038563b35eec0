// Baseline: Apollo Server 5 on Express 5, same SDL, no security (the stock choice).
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { announce, constantResolvers, portArgument, typeDefs } from './common.js';

const port = portArgument();
const apollo = new ApolloServer({ typeDefs, resolvers: constantResolvers });
await apollo.start();
const app = express();
app.use('/graphql', express.json(), expressMiddleware(apollo));
app.listen(port, '127.0.0.1', () => announce(port));

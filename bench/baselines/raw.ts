// Baseline: raw node:http answering POST /graphql with the response the other stacks compute.
import http from 'node:http';
import { announce, ME, portArgument } from './common.js';

const body = JSON.stringify({ data: { me: ME } });
const port = portArgument();
http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  })
  .listen(port, '127.0.0.1', () => announce(port));

import { SessionTokens, SetupBody } from '@gatehouse/contracts';
import { z } from 'zod';
import { requestMeta } from '../../http/context';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';
import type { SetupService } from './setup.service';

const tags = ['setup'];

/** A minimal page for the printed setup link: no console build needed to create the first admin. */
const page = (
  done: boolean,
) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gatehouse setup</title>
<style>body{font:16px system-ui;max-width:28rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem}button{margin-top:1rem;padding:.5rem 1rem}#out{margin-top:1rem;white-space:pre-wrap}</style></head>
<body><h1>Gatehouse setup</h1>${
  done
    ? '<p>The platform already has an administrator. Sign in instead.</p>'
    : `<p>Create the first platform administrator.</p>
<form id="f"><label>Email<input name="email" type="email" required></label><label>First name<input name="first_name" required></label><label>Last name<input name="last_name" required></label>
<label>Password (10+ characters, upper, lower, digit, symbol)<input name="password" type="password" required></label><button>Create administrator</button></form><div id="out"></div>
<script>const t=new URLSearchParams(location.search).get('token');document.getElementById('f').onsubmit=async(e)=>{e.preventDefault();const b=Object.fromEntries(new FormData(e.target));b.token=t;
const r=await fetch('/v1/setup',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify(b)});const j=await r.json();
document.getElementById('out').textContent=r.ok?'Done: '+b.email+' is the platform administrator. You can sign in now.':(j.detail||j.title)+(j.failed_rules?' ('+j.failed_rules.join(', ')+')':'');};</script>`
}</body></html>`;

export function setupRoutes(app: App, { setup, rt }: { rt: Runtime; setup: SetupService }) {
  app.get(
    '/v1/setup',
    {
      schema: {
        tags,
        summary: 'The first-admin setup page (HTML), opened from the link printed at start',
        querystring: z.object({ token: z.string().max(200).optional() }),
        produces: ['text/html'],
        response: { 200: z.string().describe('an HTML page') },
      },
      config: { auth: 'public' },
    },
    async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page(await setup.isSetUp())),
  );

  app.post(
    '/v1/setup',
    {
      schema: {
        tags,
        summary: 'Create the first platform admin with the setup token',
        body: SetupBody,
        response: { 201: SessionTokens },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const { issued } = await setup.setupWithToken(req.body, requestMeta(req));
      return reply.code(201).send({
        token_type: 'Bearer' as const,
        access_token: issued.accessToken,
        expires_in: rt.config.accessTokenTtl,
        refresh_token: issued.refreshToken,
        session_id: issued.session.id,
      });
    },
  );
}

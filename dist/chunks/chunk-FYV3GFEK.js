import { createRequire as __pdRequire } from 'node:module'; const require = __pdRequire(import.meta.url);
var d="notify";function f(n){let t=n.get(d);if(!t)return{};try{return JSON.parse(t)}catch{return{}}}function $(n){let t=f(n).slack;return t?`${t.channel}/${t.ts}`:void 0}function x(n){let t=n?/^([A-Z0-9]+)\/(\d+\.\d+)$/.exec(n.trim()):null;return t?{channel:t[1],ts:t[2]}:void 0}var p=class{constructor(t){this.markdown=t}markdown};function l(n){return new p(n)}function I(n,t){return!t||!/^https?:\/\//i.test(t)?n:l(`[${o(n)}](${t.replace(/[()\s<>]/g,encodeURIComponent)})`)}function S(n){let t=n.replace(/\r?\n/g," "),e=Math.max(0,...[...t.matchAll(/`+/g)].map(i=>i[0].length)),r="`".repeat(e+1),s=t.startsWith("`")||t.endsWith("`")?" ":"";return l(`${r}${s}${t}${s}${r}`)}function o(n){return u(n).replace(/^(\s*)#/,"$1\\#")}function c(n){return u(n).replace(/\r?\n/g,"<br>")}function u(n){return n.replace(/([\\*_[\]~|])/g,"\\$1").replace(/&/g,"&amp;").replace(/</g,"&lt;").replace(/>/g,"&gt;").replace(/`/g,"&#96;")}function a(n,t){return n instanceof p?n.markdown:t(String(n))}var g=class{parts=[];heading(t,e){return this.push(`${"#".repeat(t)} ${a(e,r=>o(r.replace(/\s+/g," ")))}`)}paragraph(...t){return this.push(t.map(e=>a(e,o)).join(""))}quote(...t){let e=t.map(r=>a(r,o)).join("");return this.push(e.split(`
`).map(r=>`> ${r}`).join(`
`))}bullets(t){return this.push(t.map(e=>`- ${a(e,r=>c(r))}`).join(`
`))}table(t,e){let r=i=>a(i,c)||" ",s=[`| ${t.map(r).join(" | ")} |`,`| ${t.map(()=>"---").join(" | ")} |`,...e.map(i=>`| ${t.map((m,h)=>r(i[h]??"")).join(" | ")} |`)];return this.push(s.join(`
`))}codeBlock(t,e){let r=Math.max(2,...[...e.matchAll(/`+/g)].map(i=>i[0].length)),s="`".repeat(r+1);return this.push(`${s}${t}
${e.replace(/\n$/,"")}
${s}`)}details(t,e){let r=e instanceof p?e.markdown:e.toString();return this.push(`<details><summary>${o(t)}</summary>

${r}

</details>`)}raw(t){return this.push(t)}toString(){return this.parts.length===0?"":`${this.parts.join(`

`)}
`}push(t){return this.parts.push(t),this}};export{d as a,f as b,$ as c,x as d,l as e,I as f,S as g,o as h,g as i};

import { createRequire as __pdRequire } from 'node:module'; const require = __pdRequire(import.meta.url);
var o=class{constructor(n){this.markdown=n}markdown};function g(t){return new o(t)}function $(t,n){return!n||!/^https?:\/\//i.test(n)?t:g(`[${p(t)}](${n.replace(/[()\s<>]/g,encodeURIComponent)})`)}function f(t){let n=t.replace(/\r?\n/g," "),e=Math.max(0,...[...n.matchAll(/`+/g)].map(i=>i[0].length)),r="`".repeat(e+1),s=n.startsWith("`")||n.endsWith("`")?" ":"";return g(`${r}${s}${n}${s}${r}`)}function p(t){return h(t).replace(/^(\s*)#/,"$1\\#")}function l(t){return h(t).replace(/\r?\n/g,"<br>")}function h(t){return t.replace(/([\\*_[\]~|])/g,"\\$1").replace(/&/g,"&amp;").replace(/</g,"&lt;").replace(/>/g,"&gt;").replace(/`/g,"&#96;")}function a(t,n){return t instanceof o?t.markdown:n(String(t))}var c=class{parts=[];heading(n,e){return this.push(`${"#".repeat(n)} ${a(e,r=>p(r.replace(/\s+/g," ")))}`)}paragraph(...n){return this.push(n.map(e=>a(e,p)).join(""))}quote(...n){let e=n.map(r=>a(r,p)).join("");return this.push(e.split(`
`).map(r=>`> ${r}`).join(`
`))}bullets(n){return this.push(n.map(e=>`- ${a(e,r=>l(r))}`).join(`
`))}table(n,e){let r=i=>a(i,l)||" ",s=[`| ${n.map(r).join(" | ")} |`,`| ${n.map(()=>"---").join(" | ")} |`,...e.map(i=>`| ${n.map((m,u)=>r(i[u]??"")).join(" | ")} |`)];return this.push(s.join(`
`))}codeBlock(n,e){let r=Math.max(2,...[...e.matchAll(/`+/g)].map(i=>i[0].length)),s="`".repeat(r+1);return this.push(`${s}${n}
${e.replace(/\n$/,"")}
${s}`)}details(n,e){let r=e instanceof o?e.markdown:e.toString();return this.push(`<details><summary>${p(n)}</summary>

${r}

</details>`)}raw(n){return this.push(n)}toString(){return this.parts.length===0?"":`${this.parts.join(`

`)}
`}push(n){return this.parts.push(n),this}};export{g as a,$ as b,f as c,p as d,c as e};

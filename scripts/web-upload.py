"""The web client to the stack's WebBucket (run by scripts/deploy.sh with the deploy venv's Python).

    web-upload.py STACK REGION            upload web/ (widget bundles from web/dist at the root),
                                          invalidate CloudFront, print the one-line snippet
    web-upload.py STACK REGION --empty    empty the bucket (before the stack is deleted)

Content-hashed files (a name like widget-panel-3F2A9C1B.js) are cached a year, immutable; the rest
(widget.js, pages, the SDK's fixed names) five minutes, so a deploy shows within minutes even where
the invalidation is not waited for.
"""
import mimetypes
import pathlib
import re
import sys
import time

import boto3

stack, region = sys.argv[1], (sys.argv[2] or None)
cfn = boto3.client("cloudformation", region_name=region)
outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])}
bucket = outputs["WebBucketName"]
s3 = boto3.client("s3", region_name=region)

if "--empty" in sys.argv:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    print(f"[deploy] emptied {bucket}")
    sys.exit(0)

root = pathlib.Path(__file__).resolve().parent.parent / "web"
hashed = re.compile(r"-[0-9A-Za-z]{8,}\.(js|css|map)$")
files = []
for p in sorted(root.rglob("*")):
    rel = p.relative_to(root).as_posix()
    if p.is_dir() or rel.endswith(".md") or "/node_modules/" in f"/{rel}":
        continue
    files.append((p, rel))
    # The snippet's widget.js is at the root, as the local gateway serves it; it imports its panel
    # from dist/ (dist/widget-panel-<hash>.js), which stays where it is.
    if rel in ("dist/widget.js", "dist/widget.js.map"):
        files.append((p, rel[len("dist/"):]))
for p, key in files:
    ctype = mimetypes.guess_type(key)[0] or "application/octet-stream"
    if key.endswith((".js", ".mjs")):
        ctype = "text/javascript; charset=utf-8"
    cache = "public, max-age=31536000, immutable" if hashed.search(key) else "public, max-age=300"
    s3.upload_file(str(p), bucket, key, ExtraArgs={"ContentType": ctype, "CacheControl": cache})
print(f"[deploy] uploaded {len(files)} files of web/ to s3://{bucket}")
cf = boto3.client("cloudfront")
cf.create_invalidation(
    DistributionId=outputs["WebDistributionId"],
    InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())},
)
web, api = outputs["WebUrl"], outputs["HttpApiUrl"].rstrip("/")
print()
print("The one line for your site's pages (before </body>):")
print(f'  <script src="{web}/widget.js" data-chat-url="{api}" async></script>')
print(f"The operator console: {web}/console/")

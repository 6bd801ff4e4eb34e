// The unit's upload form: a preview of the column mapping before the import, and a
// progress bar while the file is sent (bytes) and then checked (rows, polled from the
// server). Without this script the form still works as a plain upload.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest || !window.fetch) {
    return;
  }
  var fileInput = form.querySelector("input[type=file]");
  var previewButton = document.getElementById("preview-button");
  var previewBox = document.getElementById("mapping-preview");
  var box = document.getElementById("upload-progress-box");
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var TEXT_SLICE = 256 * 1024;
  var MAX_WORKBOOK = 4 * 1024 * 1024;
  previewButton.hidden = false;

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function table(id, header, rows) {
    var t = el("table");
    t.id = id;
    var head = el("tr");
    header.forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(head);
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (c) { tr.appendChild(el("td", c)); });
      t.appendChild(tr);
    });
    return t;
  }

  function isWorkbook(name) {
    return /\.(xlsx|xlsm|xls|xlsb|ods)$/i.test(name);
  }

  function showPreview(data) {
    previewBox.textContent = "";
    if (data.error) {
      var p = el("p", "预览：文件不能导入：" + data.error);
      p.id = "preview-error";
      p.className = "flash error";
      previewBox.appendChild(p);
      return;
    }
    if (data.skipped) {
      previewBox.appendChild(el("p", "预览：" + data.skipped));
      return;
    }
    var where = data.header_row ? "表头在第 " + data.header_row + " 行" : "未找到表头";
    var sheet = data.sheet ? "，工作表“" + data.sheet + "”" : "";
    previewBox.appendChild(el("h2", "列对应预览（尚未导入）"));
    previewBox.appendChild(el("p", where + sheet + "，编码 " + data.encoding + "。请核对每个字段对应的表头，有误请在上方手工指定列后再预览。"));
    previewBox.appendChild(table("preview-columns", ["字段", "对应的表头"], data.columns.map(function (c) {
      return [c.label, c.header || "（未找到）"];
    })));
    previewBox.appendChild(el("p", "前 " + data.rows.length + " 行（姓名、号码已遮挡）："));
    previewBox.appendChild(table("preview-rows", ["行号", "结果", "原因", "姓名", "联系电话", "办理事项", "办理时间", "类型"], data.rows.map(function (r) {
      return [String(r.row), r.status, r.reason, r.name, r.phone, r.service, r.date, r.kind];
    })));
  }

  function preview() {
    var file = fileInput.files[0];
    if (!file) {
      previewBox.textContent = "请先选择名单文件。";
      return;
    }
    var data = new FormData(form);
    data.delete("progress_token");
    if (isWorkbook(file.name)) {
      if (file.size > MAX_WORKBOOK) {
        showPreview({ skipped: "工作簿较大，不预览，导入时检查。" });
        return;
      }
    } else if (file.size > TEXT_SLICE) {
      data.set("file", file.slice(0, TEXT_SLICE), file.name);
      data.set("partial", "1");
    }
    previewBox.textContent = "正在读取表头……";
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" }
    }).then(function (response) {
      return response.json();
    }).then(showPreview).catch(function () {
      previewBox.textContent = "预览失败，可直接上传，导入后查看结果。";
    });
  }

  previewButton.addEventListener("click", preview);
  fileInput.addEventListener("change", preview);

  function kib(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.ceil(bytes / 1024) + " KB";
  }

  form.addEventListener("submit", function (event) {
    if (event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    var timer = null;
    box.hidden = false;
    bar.max = 1;
    bar.value = 0;
    status.textContent = "正在上传……";
    form.querySelector("button[type=submit]").disabled = true;

    function poll() {
      fetch(form.getAttribute("data-progress-url"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (data.stage === "checking") {
            status.textContent = "正在检查：已检查 " + data.rows + " 行";
          }
        }).catch(function () {});
    }

    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
        status.textContent = "正在上传：已发送 " + Math.floor(100 * e.loaded / e.total) + "%（" + kib(e.loaded) + " / " + kib(e.total) + "）";
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // the rows' count is not known ahead: an indeterminate bar
      status.textContent = "上传完成，正在检查……";
      poll();
      timer = window.setInterval(poll, 500);
    });
    xhr.addEventListener("load", function () {
      window.clearInterval(timer);
      var target = null;
      try {
        target = JSON.parse(xhr.responseText).redirect;
      } catch (err) {
        target = null;
      }
      if (xhr.status === 200 && target) {
        status.textContent = "检查完成，正在打开结果……";
        window.location.assign(target);
      } else {
        status.textContent = xhr.status === 413 ? "上传未完成：文件超过大小上限。" : "上传未完成（服务器返回 " + xhr.status + "），请重试。";
        form.querySelector("button[type=submit]").disabled = false;
      }
    });
    xhr.addEventListener("error", function () {
      window.clearInterval(timer);
      status.textContent = "上传中断，请检查网络后重试。";
      form.querySelector("button[type=submit]").disabled = false;
    });
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.send(new FormData(form));
  });
}());
